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
from wenda.index.query.question import Question, ordinals_in

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
            pieces.append(_Piece(i, j, start, end, piece, span_folded, key, mid))
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
    passage = [
        _passage_features(q, pi, v, float(scores[pi]), cosines[pi], best_cos, focus_w)
        for pi, v in enumerate(views)
    ]
    spans: list[Span] = []
    for row, (pi, piece) in enumerate(chosen):
        view, span_folded, i, j = views[pi], piece.folded, piece.i, piece.j
        n = len(view.folded)
        feats = dict(passage[pi])
        feats.update(
            {name: float(col[row]) for name, col in cols.items()},
            cov_prev=float(cov_sentence[offset[pi] + i - 1]) if i > 0 else 0.0,
            cov_next=float(cov_sentence[offset[pi] + j + 1]) if j + 1 < n else 0.0,
            order=in_order(positions[row]),
            has_number=float(bool(_DIGIT.search(span_folded))),
            unit_hit=_unit_hit(q.unit, span_folded),
            num_missing=_num_missing(q, span_folded),
            ordinal_conflict=_ordinal_conflict(q, span_folded),
            position=i / n,
            first=float(i == 0),
            log_len=math.log1p(len(piece.text)) / 5.0,
            pair=float(j > i),
            ends_colon=float(piece.text.rstrip().endswith((":", "："))),
        )
        if q.answer_type is None:
            feats.update(type_hit=0.0, type_miss=0.0)
        else:
            hit = holds_type(q.answer_type, span_folded, view.body)
            feats.update(type_hit=float(hit), type_miss=float(not hit))
        focus = feats["focus"]
        feats.update(
            focus_type=focus * feats["type_hit"],
            focus_unit=focus * feats["unit_hit"],
            focus_near=_focus_near(q, span_folded, view.body)
            if focus and feats["type_hit"]
            else 0.0,
        )
        vector = [feats[name] for name in SPAN_FEATURES]
        spans.append(Span(pi, piece.start, piece.end, piece.text, vector, piece.mid))
    return spans


def _passage_features(
    q: Question,
    rank: int,
    view: _PassageView,
    score: float,
    cos: float | None,
    best_cos: float | None,
    focus_w: Sequence[float],
) -> dict[str, float]:
    """The features a span shares with the rest of its passage."""
    return {
        "cov_passage": coverage(q, view.whole),
        "cov_title": coverage(q, view.head),
        "passage_rank": 1.0 / (1 + rank),
        "passage_score": score,
        "cos_gap": 0.0 if best_cos is None or cos is None else float(cos) - best_cos,
        "num_missing_passage": _num_missing(q, view.body),
        "focus_passage": _weighted_coverage(q.focus, focus_w, view.whole),
        "has_focus": float(bool(q.focus)),
        "focus_unseen": float(q.focus_unseen),
    }


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


def _unit_hit(unit: str | None, folded: str) -> float:
    if not unit:
        return 0.0
    return float(bool(_unit_pattern(unit).search(folded)))


@functools.lru_cache(maxsize=1024)
def _unit_pattern(unit: str) -> re.Pattern[str]:
    """A number, then the measure word asked for ("115项", "三座")."""
    number = rf"[\d{_CN_NUM}][\d{_CN_NUM}.,]*"
    return re.compile(rf"{number}\s*(?:多|余|餘)?[万萬亿億千百]?{re.escape(unit)}")


_CN_NUM = "一二三四五六七八九十两兩零〇"


def _num_missing(q: Question, folded: str) -> float:
    """Share of the question's numbers the text lacks, written in digits or in Chinese
    numerals ("23岁" is "二十三岁", "1998年" is "一九九八年")."""
    if not q.numbers:
        return 0.0
    missing = [x for x in q.numbers if x not in folded]
    if missing:
        digits = arabic_numerals(folded)
        missing = [x for x in missing if x not in digits]
    return len(missing) / len(q.numbers)


@functools.lru_cache(maxsize=4096)
def arabic_numerals(text: str) -> str:
    """``text`` with Chinese numerals in digits (cn2an; matching only, never shown)."""
    if not _CN_NUMERAL.search(text):
        return text
    try:
        return str(_cn2an_transform()(text, "cn2an"))
    except (ValueError, KeyError, IndexError):  # a form cn2an cannot read: keep the text
        return text


@functools.cache
def _cn2an_transform() -> Callable[[str, str], str]:
    import warnings

    import cn2an

    # cn2an warns for each numeral-like word it leaves alone ("万一"): not our concern.
    warnings.filterwarnings("ignore", module=r"cn2an(\.|$)")
    return cn2an.transform


_CN_NUMERAL = re.compile("[一二三四五六七八九十两兩零〇百千万萬亿億]")


def _ordinal_conflict(q: Question, folded: str) -> float:
    if not q.ordinals:
        return 0.0
    found = ordinals_in(folded)
    wanted = set(q.ordinals)
    units = {u for _, u in wanted}
    same_unit = [o for o in found if o[1] in units]
    return float(bool(same_unit) and not wanted & set(same_unit))
