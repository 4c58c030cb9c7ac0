"""A passage's candidate spans, and the question read against one passage.

Why: both are the per-passage half of the answer features (``features.candidate_spans``
combines the top passages'). The view depends on the passage only, so it is cached: the
same top passages come back for many questions. The reading depends on the question and
the passage only, so the pipeline computes it for the likely top passages (the lexical
ones) on its helper thread while the encoder runs, and the compose stage after the encode
only assembles.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from wenda.index.ingest.sentences import split_sentences
from wenda.index.models import Chunk
from wenda.index.query.answer_types import holds_type
from wenda.index.query.numbers import num_missing, ordinal_conflict, unit_hit
from wenda.index.query.question import Question
from wenda.index.query.span_features import COLUMN, SPAN_FEATURES, weighted

MAX_SPAN_CHARS = 200  # an answer longer than this is not a short answer any more
FOCUS_WINDOW = 12
FIXED = ("has_number", "position", "first", "log_len", "pair", "ends_colon")
"""Span features of the text alone, in ``Piece.fixed`` order."""
PER_PIECE = ("order", "unit_hit", "num_missing", "ordinal_conflict", "type_hit", "focus_near")
"""Span features of the question against one span, computed piece by piece."""
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Piece:
    """A sentence (``i == j``) or a pair of consecutive sentences of one passage."""

    i: int
    j: int
    start: int
    end: int
    text: str
    folded: str
    key: str  # whitespace-squashed text: one candidate per distinct text
    mid: int  # end of the first sentence of a pair (-1 for one sentence)
    fixed: tuple[float, ...]  # the features of the text alone (``FIXED``)


@dataclass(frozen=True)
class PassageView:
    """What candidate generation needs of a passage and not of the question."""

    folded: tuple[str, ...]  # each sentence in matching form
    pieces: tuple[Piece, ...]
    whole: str  # title, section and text in matching form
    head: str  # title and section
    body: str  # text
    first: np.ndarray  # per piece, its first sentence (``Piece.i``)
    last: np.ndarray  # ... and its last (``Piece.j``)


def passage_view(chunk: Chunk, fold: Callable[[str], str]) -> PassageView:
    return _view(chunk.title, chunk.section, chunk.text, fold)


@functools.lru_cache(maxsize=4096)
def _view(title: str, section: str, text: str, fold: Callable[[str], str]) -> PassageView:
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
            pieces.append(Piece(i, j, start, end, piece, span_folded, key, mid, fixed))
    return PassageView(
        folded,
        tuple(pieces),
        fold(f"{title} {section} {text}"),
        fold(f"{title} {section}"),
        fold(text),
        np.array([p.i for p in pieces], dtype=np.int64),
        np.array([p.j for p in pieces], dtype=np.int64),
    )


@dataclass(frozen=True)
class PassageReading:
    """The question against every piece of one passage: nothing here depends on the
    other passages, so it can be computed before retrieval has finished."""

    view: PassageView
    in_sentences: np.ndarray  # (sentences, terms): 1 where the sentence holds the term
    in_span: np.ndarray  # (pieces, terms): 1 where the piece holds the term
    rows: np.ndarray  # (pieces, len(SPAN_FEATURES)): every column but the passage's own
    # and ``ACROSS_PASSAGES`` (those stay 0 here and are filled when the top is known)


def focus_weights(q: Question) -> list[float]:
    """IDF of each focus term (1 for one that is not a question term), never 0."""
    idf = dict(zip(q.terms, q.weights, strict=True))
    return [max(idf.get(t, 1.0), 1e-6) for t in q.focus]


def needles(q: Question) -> tuple[tuple[str, ...], ...]:
    """The character n-gram and term lists whose presence per span is a feature."""
    return q.bigrams, q.trigrams, q.wh_context, q.focus


def read_passage(q: Question, view: PassageView) -> PassageReading:
    """The question's terms, n-grams, numbers and answer type against each piece."""
    terms = q.terms
    hay = [p.folded for p in view.pieces]
    if not hay:
        empty = np.zeros((0, len(terms)))
        return PassageReading(
            view, presence(terms, view.folded), empty, np.zeros((0, len(SPAN_FEATURES)))
        )
    positions = [[h.find(t) for t in terms] for h in hay]
    lengths = np.array([len(t) for t in terms], dtype=np.float64)
    counts = [
        [h.count(t) if at >= 0 else 0 for t, at in zip(terms, where, strict=True)]
        for h, where in zip(hay, positions, strict=True)
    ]
    covered = np.array(counts, dtype=np.float64).reshape(len(hay), len(terms)) @ lengths
    lists = needles(q)
    present = presence([g for grams in lists for g in grams], hay)
    bounds = np.cumsum([0] + [len(grams) for grams in lists])  # bigrams, trigrams, wh, focus
    focus_lo = int(bounds[3])
    per_piece = []
    for p, where, found in zip(view.pieces, positions, present, strict=True):
        hit = q.answer_type is not None and holds_type(q.answer_type, p.folded, view.body)
        near = hit and found[focus_lo:].any() and focus_near(q, p.folded, view.body)
        per_piece.append(
            (
                in_order(where),
                unit_hit(q.unit, p.folded),
                num_missing(q, p.folded),
                ordinal_conflict(q, p.folded),
                float(hit),
                float(near),
            )
        )
    in_span = (np.array(positions).reshape(len(hay), len(terms)) >= 0).astype(np.float64)
    in_sentences = presence(terms, view.folded)
    m = np.zeros((len(hay), len(SPAN_FEATURES)))
    m[:, [COLUMN[name] for name in PER_PIECE]] = np.array(per_piece, dtype=np.float64).reshape(
        len(hay), len(PER_PIECE)
    )
    m[:, [COLUMN[name] for name in FIXED]] = [p.fixed for p in view.pieces]
    m[:, COLUMN["cov"]] = weighted(in_span, q.weights)
    if terms:
        m[:, COLUMN["rarest"]] = in_span[:, max(range(len(terms)), key=lambda i: q.weights[i])]
    # an answer adds something: the share of the span that is not question words
    body = np.array([len(h.strip()) for h in hay], dtype=np.float64)
    m[:, COLUMN["novel"]] = np.where(
        body > 0, np.maximum(0.0, 1.0 - covered / np.maximum(body, 1.0)), 0.0
    )
    for name, lo, hi in zip(("bigram", "trigram", "wh_context"), bounds, bounds[1:], strict=False):
        if hi > lo:
            m[:, COLUMN[name]] = present[:, lo:hi].mean(axis=1)
    m[:, COLUMN["focus"]] = weighted(present[:, focus_lo:], focus_weights(q))
    if q.answer_type is not None:
        m[:, COLUMN["type_miss"]] = 1.0 - m[:, COLUMN["type_hit"]]
    # the sentence before and after the span (0 at the passage's edges)
    padded = np.concatenate([[0.0], weighted(in_sentences, q.weights), [0.0]])
    first, last = view.first, view.last
    m[:, COLUMN["cov_prev"]] = np.where(first > 0, padded[first], 0.0)
    m[:, COLUMN["cov_next"]] = np.where(last + 1 < len(view.folded), padded[last + 2], 0.0)
    m[:, COLUMN["focus_type"]] = m[:, COLUMN["focus"]] * m[:, COLUMN["type_hit"]]
    m[:, COLUMN["focus_unit"]] = m[:, COLUMN["focus"]] * m[:, COLUMN["unit_hit"]]
    return PassageReading(view, in_sentences, in_span, m)


def presence(needles: Sequence[str], hay: Sequence[str]) -> np.ndarray:
    """(len(hay), len(needles)) float matrix: 1 where the needle is a substring."""
    return np.array([[t in h for t in needles] for h in hay], dtype=np.float64).reshape(
        len(hay), len(needles)
    )


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


def focus_near(q: Question, folded: str, passage_folded: str) -> bool:
    """Whether a value of the asked type sits next to the focus term ("新建3座机场",
    "票价为50元"): co-occurring somewhere in a long sentence is weaker evidence."""
    assert q.answer_type is not None
    for t in q.focus:
        at = folded.find(t)
        while at >= 0:
            window = folded[max(0, at - FOCUS_WINDOW) : at + len(t) + FOCUS_WINDOW]
            if holds_type(q.answer_type, window.replace(t, " "), passage_folded):
                return True
            at = folded.find(t, at + 1)
    return False
