"""Candidate answer spans of the top passages and the features the answer model scores.

Why: the answer is the span (one sentence, or two consecutive ones when an answer runs on
or is a list) that a learned model rates highest, and whether to answer at all is decided
from the same evidence. Every feature is cheap (substring tests and a few regexes on
about a dozen sentences); POS tags are computed only when the question asks for a person,
place or organization, and cached per passage text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from wenda.index.models import Chunk
from wenda.index.query.numbers import num_missing
from wenda.index.query.passages import (
    FIXED,
    PER_PIECE,
    PassageReading,
    PassageView,
    needles,
    passage_view,
    read_passage,
)
from wenda.index.query.question import Question

SPAN_FEATURES = (
    "cov",  # IDF-weighted share of question terms in the span
    "cov_passage",  # ... in the span's passage with its section and title
    "cov_title",  # ... in the section title and document title
    "cov_prev",  # ... in the sentence before the span
    "cov_next",  # ... in the sentence after the span (the answer may continue there)
    "cov_local",  # coverage weighting terms by how few candidate sentences hold them
    "bigram",  # share of the question's character bigrams in the span
    "trigram",  # ... of its character trigrams (long copied phrases)
    "wh_context",  # the question word's neighbouring terms are in the span
    "order",  # matched terms in the question's order (LIS share)
    "rarest",  # the question's highest-IDF term is in the span
    "novel",  # share of the span that is not question words (an answer adds something)
    "passage_rank",  # 1 / (1 + rank of the passage)
    "passage_score",  # fused retrieval score of the passage
    "cos_gap",  # passage cosine minus the best cosine (0 without a dense side)
    "type_hit",  # the expected answer type is in the span
    "type_miss",  # an answer type is expected and the span has none
    "has_number",
    "unit_hit",  # a number followed by the measure word the question asks for ("115项")
    "num_missing",  # share of the question's numbers absent from the span
    "num_missing_passage",  # ... absent from the passage
    "ordinal_conflict",  # "第8条" where the question asks "第10条"
    "position",  # sentence index / sentences in the passage
    "first",  # first sentence of the passage
    "log_len",
    "pair",  # two consecutive sentences
    "ends_colon",  # the span introduces a list
    "focus",  # IDF share of the focus terms (what is asked about: 几座机场 → 机场) in the span
    "focus_passage",  # ... in the span's passage with its section and title
    "focus_type",  # focus terms and the expected answer type in the same span
    "focus_unit",  # focus terms and the asked measure word with a number ("3座机场")
    "has_focus",  # the question has a focus term (constant per question; for the gate)
    "focus_near",  # a value of the expected type within FOCUS_WINDOW chars of a focus term
    "focus_unseen",  # a focus term is in no document of the index (constant per question)
)
DENSE_FEATURES = frozenset({"cos_gap"})  # zero when there is no comparable cosine
ANSWER_PASSAGES = 3  # spans come from this many top passages

_PASSAGE = (
    "cov_passage",
    "cov_title",
    "passage_rank",
    "passage_score",
    "cos_gap",
    "num_missing_passage",
    "focus_passage",
    "has_focus",
    "focus_unseen",
)
_COLUMN = {name: i for i, name in enumerate(SPAN_FEATURES)}


@dataclass
class Span:
    """A candidate answer: ``text[start:end]`` of the passage at ``passage`` (0-based)."""

    passage: int
    start: int
    end: int
    text: str
    features: list[float]
    mid: int = -1  # end of the first sentence of a pair (-1 for one sentence)


def coverage(q: Question, folded: str) -> float:
    """IDF-weighted share of the question's terms found in ``folded`` text."""
    total = q.total_weight
    if total <= 0:
        return 0.0
    return sum(w for t, w in zip(q.terms, q.weights, strict=True) if t in folded) / total


def _weighted_coverage(terms: Sequence[str], weights: Sequence[float], folded: str) -> float:
    total = sum(weights)
    if total <= 0:
        return 0.0
    return sum(w for t, w in zip(terms, weights, strict=True) if t in folded) / total


def _weighted(present: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Weighted coverage per row (0 when the weights sum to nothing)."""
    w = np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    if total <= 0:
        return np.zeros(present.shape[0])
    return (present @ w) / total


def candidate_spans(
    q: Question,
    chunks: Sequence[Chunk],
    scores: Sequence[float],
    cosines: Sequence[float | None],
    fold: Callable[[str], str],
    readings: Sequence[PassageReading | None] = (),
) -> list[Span]:
    """Every sentence and every pair of consecutive sentences of the top passages.

    ``readings``: the question already read against some of ``chunks`` (same order, None
    where not), as the pipeline does for the lexical top passages during the encode.
    Features are computed a column at a time over all candidates (term presence matrices).
    """
    known = [c for c in cosines[:ANSWER_PASSAGES] if c is not None]
    best_cos = max(known) if known else None
    top_term = max(range(len(q.terms)), key=lambda i: q.weights[i]) if q.terms else -1
    top = list(chunks[:ANSWER_PASSAGES])
    got = [
        (readings[i] if i < len(readings) else None) or read_passage(q, passage_view(c, fold))
        for i, c in enumerate(top)
    ]
    views = [r.view for r in got]
    n_terms = len(q.terms)
    in_sentences = np.concatenate([r.in_sentences for r in got]).reshape(-1, n_terms)
    # IDF × share of candidate sentences *without* the term: the article's own subject
    # ("乍都节公园") is in every sentence and tells them apart no better than "的".
    local = np.asarray(q.weights, dtype=np.float64) * (
        1.0 - in_sentences.sum(axis=0) / max(1, in_sentences.shape[0])
    )
    cov_sentence = _weighted(in_sentences, q.weights)
    idf = dict(zip(q.terms, q.weights, strict=True))
    focus_w = [max(idf.get(t, 1.0), 1e-6) for t in q.focus]

    picks: list[list[int]] = []  # per passage, its pieces that are not repeats
    seen: set[str] = set()
    for view in views:
        mine = []
        for k, piece in enumerate(view.pieces):
            if piece.key not in seen:
                seen.add(piece.key)
                mine.append(k)
        picks.append(mine)
    chosen = [(pi, k) for pi, ks in enumerate(picks) for k in ks]
    if not chosen:
        return []
    pieces = [views[pi].pieces[k] for pi, k in chosen]
    positions = [got[pi].positions[k] for pi, k in chosen]
    in_span = (np.array(positions).reshape(len(chosen), n_terms) >= 0).astype(np.float64)
    covered = np.concatenate([r.covered[ks] for r, ks in zip(got, picks, strict=True)])
    present = np.concatenate([r.present[ks] for r, ks in zip(got, picks, strict=True)])
    per_piece = np.concatenate([r.per_piece[ks] for r, ks in zip(got, picks, strict=True)])
    # an answer adds something: the share of the span that is not question words
    body = np.array([len(p.folded.strip()) for p in pieces], dtype=np.float64)
    novel = np.where(body > 0, np.maximum(0.0, 1.0 - covered / np.maximum(body, 1.0)), 0.0)
    m = np.zeros((len(chosen), len(SPAN_FEATURES)))
    m[:, _COLUMN["cov"]] = _weighted(in_span, q.weights)
    m[:, _COLUMN["cov_local"]] = _weighted(in_span, local.tolist())
    if top_term >= 0:
        m[:, _COLUMN["rarest"]] = in_span[:, top_term]
    m[:, _COLUMN["novel"]] = novel
    bounds = np.cumsum([0] + [len(grams) for grams in needles(q)])
    for name, lo, hi in zip(("bigram", "trigram", "wh_context"), bounds, bounds[1:], strict=False):
        if hi > lo:
            m[:, _COLUMN[name]] = present[:, lo:hi].mean(axis=1)
    m[:, _COLUMN["focus"]] = _weighted(present[:, bounds[3] : bounds[4]], focus_w)
    passage = np.array(
        [
            _passage_features(q, pi, v, float(scores[pi]), cosines[pi], best_cos, focus_w)
            for pi, v in enumerate(views)
        ]
    )
    of_passage = np.array([pi for pi, _ in chosen])
    m[:, [_COLUMN[name] for name in _PASSAGE]] = passage[of_passage]
    m[:, [_COLUMN[name] for name in FIXED]] = [p.fixed for p in pieces]
    m[:, [_COLUMN[name] for name in PER_PIECE]] = per_piece
    if q.answer_type is not None:
        m[:, _COLUMN["type_miss"]] = 1.0 - m[:, _COLUMN["type_hit"]]
    offset = np.cumsum([0] + [len(v.folded) for v in views])
    sentence_at = offset[of_passage]
    first_i = np.array([p.i for p in pieces])
    last_j = np.array([p.j for p in pieces])
    counts_in = np.array([len(v.folded) for v in views])[of_passage]
    padded = np.concatenate([[0.0], cov_sentence, [0.0]])  # index +1: no sentence → 0
    m[:, _COLUMN["cov_prev"]] = np.where(first_i > 0, padded[sentence_at + first_i], 0.0)
    m[:, _COLUMN["cov_next"]] = np.where(
        last_j + 1 < counts_in, padded[sentence_at + last_j + 2], 0.0
    )
    m[:, _COLUMN["focus_type"]] = m[:, _COLUMN["focus"]] * m[:, _COLUMN["type_hit"]]
    m[:, _COLUMN["focus_unit"]] = m[:, _COLUMN["focus"]] * m[:, _COLUMN["unit_hit"]]
    return [
        Span(pi, p.start, p.end, p.text, vector, p.mid)
        for (pi, _), p, vector in zip(chosen, pieces, m.tolist(), strict=True)
    ]


def _passage_features(
    q: Question,
    rank: int,
    view: PassageView,
    score: float,
    cos: float | None,
    best_cos: float | None,
    focus_w: Sequence[float],
) -> tuple[float, ...]:
    """The features a span shares with the rest of its passage, in ``_PASSAGE`` order."""
    return (
        coverage(q, view.whole),
        coverage(q, view.head),
        1.0 / (1 + rank),
        score,
        0.0 if best_cos is None or cos is None else float(cos) - best_cos,
        num_missing(q, view.body),
        _weighted_coverage(q.focus, focus_w, view.whole),
        float(bool(q.focus)),
        float(q.focus_unseen),
    )


def span_matrix(spans: Sequence[Span]) -> np.ndarray:
    return np.array([s.features for s in spans], dtype=np.float64).reshape(-1, len(SPAN_FEATURES))
