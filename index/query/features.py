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
from wenda.index.query.late import SentenceScores, late_columns
from wenda.index.query.numbers import num_missing
from wenda.index.query.passages import (
    PassageReading,
    PassageView,
    focus_weights,
    passage_view,
    read_passage,
)
from wenda.index.query.question import Question
from wenda.index.query.span_features import COLUMN as _COLUMN
from wenda.index.query.span_features import (
    DENSE_FEATURES,
    LATE_FEATURES,
    PASSAGE_LEVEL,
    SPAN_FEATURES,
    weighted,
)

__all__ = ["DENSE_FEATURES", "SPAN_FEATURES", "Span", "candidate_spans", "coverage", "span_matrix"]

ANSWER_PASSAGES = 3  # spans come from this many top passages


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
    return _weighted_coverage(q.terms, q.weights, folded)


def _weighted_coverage(terms: Sequence[str], weights: Sequence[float], folded: str) -> float:
    total = sum(weights)
    if total <= 0:
        return 0.0
    return sum(w for t, w in zip(terms, weights, strict=True) if t in folded) / total


def candidate_spans(
    q: Question,
    chunks: Sequence[Chunk],
    scores: Sequence[float],
    cosines: Sequence[float | None],
    fold: Callable[[str], str],
    readings: Sequence[PassageReading | None] = (),
    sentences: Sequence[SentenceScores] = (),
) -> list[Span]:
    """Every sentence and every pair of consecutive sentences of the top passages.

    ``readings``: the question already read against some of ``chunks`` (same order, None
    where not), as the pipeline does for the lexical top passages during the encode. A
    reading holds every feature of its spans but the passage's own and ``cov_local``; this
    puts those in and drops spans whose text an earlier passage already had.
    ``sentences``: each top passage's sentence scores (``query.late``), or () to leave the
    ``LATE_FEATURES`` at 0.
    """
    known = [c for c in cosines[:ANSWER_PASSAGES] if c is not None]
    best_cos = max(known) if known else None
    top = list(chunks[:ANSWER_PASSAGES])
    got = [
        (readings[i] if i < len(readings) else None) or read_passage(q, passage_view(c, fold))
        for i, c in enumerate(top)
    ]
    views = [r.view for r in got]
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
    m = np.concatenate([r.rows[ks] for r, ks in zip(got, picks, strict=True) if ks])
    in_span = np.concatenate([r.in_span[ks] for r, ks in zip(got, picks, strict=True) if ks])
    in_sentences = np.concatenate([r.in_sentences for r in got]).reshape(-1, len(q.terms))
    # IDF × share of candidate sentences *without* the term: the article's own subject
    # ("乍都节公园") is in every sentence and tells them apart no better than "的".
    local = np.asarray(q.weights, dtype=np.float64) * (
        1.0 - in_sentences.sum(axis=0) / max(1, in_sentences.shape[0])
    )
    m[:, _COLUMN["cov_local"]] = weighted(in_span, local.tolist())
    focus_w = focus_weights(q)
    passage = np.array(
        [
            _passage_features(q, pi, v, float(scores[pi]), cosines[pi], best_cos, focus_w)
            for pi, v in enumerate(views)
        ]
    )
    m[:, [_COLUMN[name] for name in PASSAGE_LEVEL]] = passage[[pi for pi, _ in chosen]]
    if len(sentences) >= len(views):
        parts = [
            sentences[pi].cosines(views[pi].first[ks], views[pi].last[ks])
            for pi, ks in enumerate(picks)
            if ks
        ]
        m[:, [_COLUMN[name] for name in LATE_FEATURES]] = late_columns(np.concatenate(parts))
    spans = []
    for (pi, k), vector in zip(chosen, m.tolist(), strict=True):
        p = views[pi].pieces[k]
        spans.append(Span(pi, p.start, p.end, p.text, vector, p.mid))
    return spans


def _passage_features(
    q: Question,
    rank: int,
    view: PassageView,
    score: float,
    cos: float | None,
    best_cos: float | None,
    focus_w: Sequence[float],
) -> tuple[float, ...]:
    """The features a span shares with the rest of its passage, in ``PASSAGE_LEVEL`` order."""
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
