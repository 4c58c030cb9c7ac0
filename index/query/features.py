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
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from wenda.index.ingest.sentences import split_sentences
from wenda.index.models import Chunk
from wenda.index.query.question import (
    ENTITY_TYPES,
    Question,
    ordinals_in,
)

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

_MONEY = re.compile(
    r"\d[\d,.]*\s*[万萬亿億千百]?(?:元|美元|港元|港幣|港币|欧元|歐元|日元|英镑|英鎊|台幣|台币|块|塊)|"
    r"[万萬亿億]元|人民[币幣]"
)
_AREA = re.compile(r"平方(?:公里|千米|米|英里|英尺)|公[顷頃]|[亩畝]|km2|km²|m²")
_MEASURE = re.compile(
    r"\d[\d,.]*\s*(?:多)?(?:米|公尺|公分|厘米|毫米|公里|千米|英尺|英寸|英里|公斤|千克|克|吨|噸|磅|"
    r"m|cm|mm|km|kg|ft)"
)
_DURATION = re.compile(
    r"[\d一二三四五六七八九十两兩几幾数數半多]+(?:多)?(?:年|个月|個月|天|周|週|星期|小[时時]|分[钟鐘]|秒|世[纪紀])"
)
_DATE = re.compile(
    r"\d{3,4}年|\d{1,2}月|\d{1,2}[日号號]|世[纪紀]|年代|[一二三四五六七八九〇零]{4}年|公元|[朝代]|"
    r"今年|去年|明年|[春夏秋冬]季|[时時]期"
)
_COUNT = re.compile(
    r"\d|[一二三四五六七八九十百千万萬亿億两兩几幾数數]+"
    r"[个個家项項人名座条條次件所种種位架辆輛部本首场場支只隻头頭列艘户戶间間门門届屆批]"
)
_ORG = re.compile(
    r"公司|集[团團]|大[学學]|[学學]院|委[员員]会|委[员員]會|[组組][织織]|[协協]会|[协協]會|[银銀]行|研究所|政府|"
    r"俱[乐樂]部|[队隊]|局|署|厅|廳"
)
_PATTERNS = {
    "money": _MONEY,
    "area": _AREA,
    "measure": _MEASURE,
    "duration": _DURATION,
    "date": _DATE,
    "count": _COUNT,
    "org": _ORG,
}
_POS_OF = {"person": ("nr",), "place": ("ns",), "org": ("nt",)}
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


def _share(grams: Sequence[str], folded: str) -> float:
    if not grams:
        return 0.0
    return sum(1 for g in grams if g in folded) / len(grams)


def _weighted_coverage(terms: Sequence[str], weights: Sequence[float], folded: str) -> float:
    total = sum(weights)
    if total <= 0:
        return 0.0
    return sum(w for t, w in zip(terms, weights, strict=True) if t in folded) / total


def local_weights(q: Question, sentences: Sequence[str]) -> list[float]:
    """IDF × share of candidate sentences *without* the term: the article's own subject
    ("乍都节公园") is in every sentence and tells them apart no better than "的"."""
    n = max(1, len(sentences))
    return [
        w * (1.0 - sum(1 for s in sentences if t in s) / n)
        for t, w in zip(q.terms, q.weights, strict=True)
    ]


def order_agreement(terms: Sequence[str], folded: str) -> float:
    """Share of matched terms in question order (longest increasing subsequence)."""
    seq = [p for p in (folded.find(t) for t in terms) if p >= 0]
    if len(seq) < 2:
        return 0.0
    tails: list[int] = []
    for p in seq:
        i = bisect.bisect_left(tails, p)
        tails[i : i + 1] = [p]
    return len(tails) / len(seq)


_POS_LOCK = threading.Lock()
_POS: list[Any] = []  # one jieba.posseg tagger per process, sharing the loaded dictionary


def _pos_tagger() -> Any:
    with _POS_LOCK:
        if not _POS:
            import jieba.posseg
            from wenda.index.store.lexical import _jieba_tokenizer

            _POS.append(jieba.posseg.POSTokenizer(_jieba_tokenizer()))
    return _POS[0]


@functools.lru_cache(maxsize=4096)
def _pos_words(text: str) -> tuple[tuple[str, str], ...]:
    """(word, POS flag) of a passage; cached because top passages repeat across questions."""
    return tuple((w, f) for w, f in _pos_tagger().cut(text, HMM=False))


def holds_type(answer_type: str, text: str, passage_text: str) -> bool:
    """Whether ``text`` (inside ``passage_text``) holds a value of ``answer_type``."""
    if answer_type in ENTITY_TYPES:
        tags = _POS_OF[answer_type]
        words = [w for w, f in _pos_words(passage_text) if f.startswith(tags)]
        if any(w in text for w in words):
            return True
    pattern = _PATTERNS.get(answer_type)
    return bool(pattern and pattern.search(text))


def candidate_spans(
    q: Question,
    chunks: Sequence[Chunk],
    scores: Sequence[float],
    cosines: Sequence[float | None],
    fold: Callable[[str], str],
) -> list[Span]:
    """Every sentence and every pair of consecutive sentences of the top passages."""
    known = [c for c in cosines[:ANSWER_PASSAGES] if c is not None]
    best_cos = max(known) if known else None
    top_term = max(range(len(q.terms)), key=lambda i: q.weights[i]) if q.terms else -1
    spans: list[Span] = []
    seen: set[str] = set()
    top = list(chunks[:ANSWER_PASSAGES])
    all_sents = [split_sentences(chunk.text) for chunk in top]
    all_folded = [[fold(c.text[s:e]) for s, e in ss] for c, ss in zip(top, all_sents, strict=True)]
    local = local_weights(q, [f for fs in all_folded for f in fs])
    idf = dict(zip(q.terms, q.weights, strict=True))
    focus_w = [max(idf.get(t, 1.0), 1e-6) for t in q.focus]
    for pi, chunk in enumerate(top):
        sents, folded = all_sents[pi], all_folded[pi]
        heading = chunk.section.strip()
        cov_s = [coverage(q, f) for f in folded]
        cos = cosines[pi]
        whole = fold(f"{chunk.title} {chunk.section} {chunk.text}")
        context = {
            "cov_passage": coverage(q, whole),
            "cov_title": coverage(q, fold(f"{chunk.title} {chunk.section}")),
            "passage_rank": 1.0 / (1 + pi),
            "passage_score": float(scores[pi]),
            "cos_gap": 0.0 if best_cos is None or cos is None else float(cos) - best_cos,
            "num_missing_passage": _num_missing(q, fold(chunk.text)),
            "focus_passage": _weighted_coverage(q.focus, focus_w, whole),
            "has_focus": float(bool(q.focus)),
            "focus_unseen": float(q.focus_unseen),
        }
        n = len(sents)
        for i in range(n):
            for j in (i, i + 1):
                if j >= n:
                    continue
                start, end = sents[i][0], sents[j][1]
                text = chunk.text[start:end]
                if j == i and (len(text.strip()) < 4 or text.strip() == heading):
                    continue
                if j > i and (end - start) > MAX_SPAN_CHARS:
                    continue
                key = " ".join(text.split())
                if key in seen:
                    continue
                seen.add(key)
                span_folded = folded[i] if i == j else fold(text)
                feats = dict(context)
                feats.update(
                    cov=coverage(q, span_folded),
                    cov_prev=cov_s[i - 1] if i > 0 else 0.0,
                    cov_next=cov_s[j + 1] if j + 1 < n else 0.0,
                    cov_local=_weighted_coverage(q.terms, local, span_folded),
                    bigram=_share(q.bigrams, span_folded),
                    trigram=_share(q.trigrams, span_folded),
                    wh_context=_share(q.wh_context, span_folded),
                    order=order_agreement(q.terms, span_folded),
                    rarest=float(top_term >= 0 and q.terms[top_term] in span_folded),
                    novel=_novelty(q, span_folded),
                    has_number=float(bool(_DIGIT.search(span_folded))),
                    unit_hit=_unit_hit(q.unit, span_folded),
                    num_missing=_num_missing(q, span_folded),
                    ordinal_conflict=_ordinal_conflict(q, span_folded),
                    position=i / n,
                    first=float(i == 0),
                    log_len=math.log1p(len(text)) / 5.0,
                    pair=float(j > i),
                    ends_colon=float(text.rstrip().endswith((":", "："))),
                )
                if q.answer_type is None:
                    feats.update(type_hit=0.0, type_miss=0.0)
                else:
                    hit = holds_type(q.answer_type, span_folded, fold(chunk.text))
                    feats.update(type_hit=float(hit), type_miss=float(not hit))
                focus = _weighted_coverage(q.focus, focus_w, span_folded)
                feats.update(
                    focus=focus,
                    focus_type=focus * feats["type_hit"],
                    focus_unit=focus * feats["unit_hit"],
                    focus_near=_focus_near(q, span_folded, fold(chunk.text))
                    if focus and feats["type_hit"]
                    else 0.0,
                )
                vector = [feats[name] for name in SPAN_FEATURES]
                mid = sents[i][1] if j > i else -1
                spans.append(Span(pi, start, end, text, vector, mid))
    return spans


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
    pattern = rf"[\d{_CN_NUM}][\d{_CN_NUM}.,]*\s*(?:多|余|餘)?[万萬亿億千百]?{re.escape(unit)}"
    return float(bool(re.search(pattern, folded)))


_CN_NUM = "一二三四五六七八九十两兩零〇"


def _novelty(q: Question, folded: str) -> float:
    body = len(folded.strip())
    if body == 0:
        return 0.0
    covered = sum(len(t) * folded.count(t) for t in q.terms if t)
    return max(0.0, 1.0 - covered / body)


def _num_missing(q: Question, folded: str) -> float:
    if not q.numbers:
        return 0.0
    return sum(1 for x in q.numbers if x not in folded) / len(q.numbers)


def _ordinal_conflict(q: Question, folded: str) -> float:
    if not q.ordinals:
        return 0.0
    found = ordinals_in(folded)
    wanted = set(q.ordinals)
    units = {u for _, u in wanted}
    same_unit = [o for o in found if o[1] in units]
    return float(bool(same_unit) and not wanted & set(same_unit))
