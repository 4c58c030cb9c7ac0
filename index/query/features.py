"""Candidate answer spans of the top passages and the features the answer model scores.

Why: the answer is the span (one sentence, or two consecutive ones when an answer runs on
or is a list) that a learned model rates highest, and whether to answer at all is decided
from the same evidence. Every feature is cheap (substring tests and a few regexes on
about a dozen sentences); POS tags are computed only when the question asks for a person,
place or organization, and cached per passage text.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from wenda.index.ingest.sentences import split_sentences
from wenda.index.models import Chunk
from wenda.index.query.answer_types import holds_type
from wenda.index.query.numbers import num_missing, ordinal_conflict, unit_hit
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
FOCUS_WINDOW = 12
DENSE_FEATURES = frozenset({"cos_gap"})  # zero when there is no comparable cosine
ANSWER_PASSAGES = 3  # spans come from this many top passages
MAX_SPAN_CHARS = 200  # an answer longer than this is not a short answer any more

_DIGIT = re.compile(r"\d")
_FIXED = ("has_number", "position", "first", "log_len", "pair", "ends_colon")
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


def in_order(positions: Sequence[int]) -> float:
    """Share of matched terms in question order (longest increasing subsequence), from
    each term's first position in the text (-1: absent)."""
    seq = [p for p in positions if p >= 0]
    if len(seq) < 2:
        return 0.0
    tails: list[int] = []
    for p in seq:
        i = bisect.bisect_left(tails, p)
        tails[i : i + 1] = [p]
    return len(tails) / len(seq)


@dataclass(frozen=True)
class _Piece:
    """A sentence (``i == j``) or a pair of consecutive sentences of one passage."""

    i: int
    j: int
    start: int
    end: int
    text: str
    folded: str
    key: str  # whitespace-squashed text: one candidate per distinct text
    mid: int  # end of the first sentence of a pair (-1 for one sentence)
    fixed: tuple[float, ...]  # the features of the text alone (``_FIXED``)


@dataclass(frozen=True)
class _PassageView:
    """What candidate generation needs of a passage and not of the question, cached:
    the same top passages come back for many questions."""

    folded: tuple[str, ...]  # each sentence in matching form
    pieces: tuple[_Piece, ...]
    whole: str  # title, section and text in matching form
    head: str  # title and section
    body: str  # text


@functools.lru_cache(maxsize=4096)
def _view(title: str, section: str, text: str, fold: Callable[[str], str]) -> _PassageView:
    sents = split_sentences(text)
    folded = tuple(fold(text[s:e]) for s, e in sents)
    heading = section.strip()
    pieces = []
    n = len(sents)
    for i in range(n):
        for j in (i, i + 1):
            if j >= n:
                continue
            start, end = sents[i][0], sents[j][1]
            piece = text[start:end]
            if j == i and (len(piece.strip()) < 4 or piece.strip() == heading):
                continue
            if j > i and (end - start) > MAX_SPAN_CHARS:
                continue
            span_folded = folded[i] if i == j else fold(piece)
            key = " ".join(piece.split())
            mid = sents[i][1] if j > i else -1
            fixed = (
                float(bool(_DIGIT.search(span_folded))),
                i / n,
                float(i == 0),
                math.log1p(len(piece)) / 5.0,
                float(j > i),
                float(piece.rstrip().endswith((":", "："))),
            )
            pieces.append(_Piece(i, j, start, end, piece, span_folded, key, mid, fixed))
    return _PassageView(
        folded,
        tuple(pieces),
        fold(f"{title} {section} {text}"),
        fold(f"{title} {section}"),
        fold(text),
    )


def _presence(needles: Sequence[str], hay: Sequence[str]) -> np.ndarray:
    """(len(hay), len(needles)) float matrix: 1 where the needle is a substring."""
    return np.array([[t in h for t in needles] for h in hay], dtype=np.float64).reshape(
        len(hay), len(needles)
    )


def _weighted(present: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Weighted coverage per row (0 when the weights sum to nothing)."""
    w = np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    if total <= 0:
        return np.zeros(present.shape[0])
    return (present @ w) / total


def _shares(grams: Sequence[str], hay: Sequence[str]) -> np.ndarray:
    if not grams:
        return np.zeros(len(hay))
    return _presence(grams, hay).mean(axis=1)


def candidate_spans(
    q: Question,
    chunks: Sequence[Chunk],
    scores: Sequence[float],
    cosines: Sequence[float | None],
    fold: Callable[[str], str],
) -> list[Span]:
    """Every sentence and every pair of consecutive sentences of the top passages.

    Features are computed a column at a time over all candidates (term presence matrices),
    which halved compose and the cache it disturbs for the next question's encode.
    """
    known = [c for c in cosines[:ANSWER_PASSAGES] if c is not None]
    best_cos = max(known) if known else None
    top_term = max(range(len(q.terms)), key=lambda i: q.weights[i]) if q.terms else -1
    top = list(chunks[:ANSWER_PASSAGES])
    views = [_view(c.title, c.section, c.text, fold) for c in top]
    sentences = [f for v in views for f in v.folded]
    in_sentences = _presence(q.terms, sentences)
    # IDF × share of candidate sentences *without* the term: the article's own subject
    # ("乍都节公园") is in every sentence and tells them apart no better than "的".
    local = np.asarray(q.weights, dtype=np.float64) * (
        1.0 - in_sentences.sum(axis=0) / max(1, len(sentences))
    )
    cov_sentence = _weighted(in_sentences, q.weights)
    idf = dict(zip(q.terms, q.weights, strict=True))
    focus_w = [max(idf.get(t, 1.0), 1e-6) for t in q.focus]

    chosen: list[tuple[int, _Piece]] = []
    seen: set[str] = set()
    for pi, view in enumerate(views):
        for piece in view.pieces:
            if piece.key not in seen:
                seen.add(piece.key)
                chosen.append((pi, piece))
    if not chosen:
        return []
    hay = [piece.folded for _, piece in chosen]
    positions = [[h.find(t) for t in q.terms] for h in hay]
    in_span = (np.array(positions).reshape(len(hay), len(q.terms)) >= 0).astype(np.float64)
    # an answer adds something: the share of the span that is not question words
    lengths = np.array([len(t) for t in q.terms], dtype=np.float64)
    counts = np.array([[h.count(t) for t in q.terms] for h in hay], dtype=np.float64)
    covered = counts.reshape(len(hay), len(q.terms)) @ lengths
    body = np.array([len(h.strip()) for h in hay], dtype=np.float64)
    novel = np.where(body > 0, np.maximum(0.0, 1.0 - covered / np.maximum(body, 1.0)), 0.0)
    offset = np.cumsum([0] + [len(v.folded) for v in views])
    cols: dict[str, Any] = {
        "cov": _weighted(in_span, q.weights),
        "cov_local": _weighted(in_span, local.tolist()),
        "bigram": _shares(q.bigrams, hay),
        "trigram": _shares(q.trigrams, hay),
        "wh_context": _shares(q.wh_context, hay),
        "rarest": in_span[:, top_term] if top_term >= 0 else np.zeros(len(hay)),
        "focus": _weighted(_presence(q.focus, hay), focus_w),
        "novel": novel,
    }
    rows = len(chosen)
    m = np.zeros((rows, len(SPAN_FEATURES)))
    for name, col in cols.items():
        m[:, _COLUMN[name]] = col
    passage = np.array(
        [
            _passage_features(q, pi, v, float(scores[pi]), cosines[pi], best_cos, focus_w)
            for pi, v in enumerate(views)
        ]
    )
    of_passage = np.array([pi for pi, _ in chosen])
    m[:, [_COLUMN[name] for name in _PASSAGE]] = passage[of_passage]
    m[:, [_COLUMN[name] for name in _FIXED]] = [piece.fixed for _, piece in chosen]
    sentence_at = offset[of_passage]
    first_i = np.array([piece.i for _, piece in chosen])
    last_j = np.array([piece.j for _, piece in chosen])
    counts_in = np.array([len(v.folded) for v in views])[of_passage]
    padded = np.concatenate([[0.0], cov_sentence, [0.0]])  # index +1: no sentence → 0
    m[:, _COLUMN["cov_prev"]] = np.where(first_i > 0, padded[sentence_at + first_i], 0.0)
    m[:, _COLUMN["cov_next"]] = np.where(
        last_j + 1 < counts_in, padded[sentence_at + last_j + 2], 0.0
    )
    m[:, _COLUMN["order"]] = [in_order(p) for p in positions]
    m[:, _COLUMN["unit_hit"]] = [unit_hit(q.unit, h) for h in hay]
    m[:, _COLUMN["num_missing"]] = [num_missing(q, h) for h in hay]
    m[:, _COLUMN["ordinal_conflict"]] = [ordinal_conflict(q, h) for h in hay]
    if q.answer_type is not None:
        kind = q.answer_type
        hit = np.array([holds_type(kind, p.folded, views[pi].body) for pi, p in chosen], float)
        m[:, _COLUMN["type_hit"]] = hit
        m[:, _COLUMN["type_miss"]] = 1.0 - hit
        focus = m[:, _COLUMN["focus"]]
        m[:, _COLUMN["focus_near"]] = [
            _focus_near(q, p.folded, views[pi].body) if f and t else 0.0
            for (pi, p), f, t in zip(chosen, focus, hit, strict=True)
        ]
    m[:, _COLUMN["focus_type"]] = m[:, _COLUMN["focus"]] * m[:, _COLUMN["type_hit"]]
    m[:, _COLUMN["focus_unit"]] = m[:, _COLUMN["focus"]] * m[:, _COLUMN["unit_hit"]]
    return [
        Span(pi, piece.start, piece.end, piece.text, vector, piece.mid)
        for (pi, piece), vector in zip(chosen, m.tolist(), strict=True)
    ]


def _passage_features(
    q: Question,
    rank: int,
    view: _PassageView,
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


def _focus_near(q: Question, folded: str, passage_folded: str) -> float:
    """Whether a value of the asked type sits next to the focus term ("新建3座机场",
    "票价为50元"): co-occurring somewhere in a long sentence is weaker evidence."""
    assert q.answer_type is not None
    for t in q.focus:
        at = folded.find(t)
        while at >= 0:
            window = folded[max(0, at - FOCUS_WINDOW) : at + len(t) + FOCUS_WINDOW]
            if holds_type(q.answer_type, window.replace(t, " "), passage_folded):
                return 1.0
            at = folded.find(t, at + 1)
    return 0.0
