"""From retrieved passages to a short cited answer, and the decision to answer at all.

The answer is the sentence of the top passages that best covers the question's content
words (IDF-weighted), with small bonuses when the question asks for a number or a date
and the sentence has one. Answerability ("support") is the IDF-weighted share of the
question's content words found in the best passage: a question whose rarest words appear
nowhere near the evidence is one the documents do not answer. The threshold was
calibrated on data (see ``bench/calibrate.py`` and the README), not guessed.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wenda.index.ingest.normalize import match_key
from wenda.index.models import Chunk, Passage
from wenda.index.query.retrieve import Hit
from wenda.index.store.lexical import LexicalIndex

NO_ANSWER = "资料中没有找到相关内容。"


@dataclass(frozen=True)
class Answerability:
    """support = sigmoid(coverage_weight·coverage + dense_weight·cosine + bias)."""

    coverage_weight: float
    dense_weight: float
    bias: float
    threshold: float = 0.5

    def support(self, coverage: float, cosine: float | None) -> float:
        dense = 0.0 if cosine is None or self.dense_weight == 0 else self.dense_weight * cosine
        return 1.0 / (1.0 + math.exp(-(self.coverage_weight * coverage + dense + self.bias)))


# Fitted by bench/calibrate_support.py for the default model (see README, "Answerability").
DEFAULT_MODEL_ANSWERABILITY = Answerability(10.88, 89.03, -84.35)
# Any other model: cosines are not comparable across models, so coverage alone decides
# (fitted on the same data: answers when coverage >= 0.518).
COVERAGE_ONLY = Answerability(14.24, 0.0, -7.38)

_NUMBER_CUES = ("多少", "几", "多长", "多大", "多高", "多远", "多重", "比例", "数量", "规模")
_DATE_CUES = ("哪天", "哪一天", "何时", "什么时候", "哪年", "哪一年", "几月", "几号", "日期")
_HAS_NUMBER = re.compile(r"\d|[一二三四五六七八九十百千万亿两]+[个件次家条座项人名份元年月日]")
_HAS_DATE = re.compile(r"\d{1,2}月\d{1,2}日|\d{4}年|\d{1,2}月|\d{1,2}日")
ANSWER_PASSAGES = 3  # sentences are picked from this many top passages


@dataclass(frozen=True)
class Composed:
    answerable: bool
    answer: str
    passages: list[Passage]
    support: float
    coverage: float
    best_cosine: float | None


@dataclass(frozen=True)
class Candidate:
    passage_index: int
    start: int
    end: int
    score: float
    passage_coverage: float  # term coverage of the sentence's whole passage (with section)


def term_coverage(terms: Sequence[str], text: str, lexical: LexicalIndex) -> float:
    """IDF-weighted share of ``terms`` that occur in ``text`` (normalized)."""
    if not terms:
        return 0.0
    norm = match_key(text)  # folded like the question terms (traditional→simplified)
    weights = [lexical.term_idf(t) for t in terms]
    found = sum(w for t, w in zip(terms, weights, strict=True) if t in norm)
    return found / sum(weights)


def _cue_bonus(question: str, sentence: str) -> float:
    bonus = 0.0
    if any(c in question for c in _NUMBER_CUES) and _HAS_NUMBER.search(sentence):
        bonus += 0.15
    if any(c in question for c in _DATE_CUES) and _HAS_DATE.search(sentence):
        bonus += 0.15
    return bonus


def order_agreement(terms: Sequence[str], text: str) -> float:
    """Share of matched question terms that appear in the question's order (LIS / matched).

    Tells "四川的人到重庆看病" apart from a sentence about 重庆 people in 四川.
    """
    norm = match_key(text)  # folded like the question terms (traditional→simplified)
    positions = [norm.find(t) for t in terms]
    seq = [p for p in positions if p >= 0]
    if len(seq) < 2:
        return 0.0
    tails: list[int] = []  # patience sorting: longest increasing subsequence
    for p in seq:
        i = bisect.bisect_left(tails, p)
        tails[i : i + 1] = [p]
    return len(tails) / len(seq)


def _is_heading(sentence: str, chunk: Chunk) -> bool:
    return bool(chunk.section) and sentence.strip() == chunk.section.strip()


def best_sentence(
    question: str,
    terms: Sequence[str],
    passages: Sequence[Chunk],
    lexical: LexicalIndex,
    split: Callable[[str], list[tuple[int, int]]],
) -> Candidate | None:
    best: Candidate | None = None
    for pi, chunk in enumerate(passages[:ANSWER_PASSAGES]):
        context_cov = term_coverage(terms, f"{chunk.section} {chunk.text}", lexical)
        for start, end in split(chunk.text):
            sentence = chunk.text[start:end]
            if len(sentence.strip()) < 4 or _is_heading(sentence, chunk):
                continue
            score = (
                0.7 * term_coverage(terms, sentence, lexical)
                + 0.3 * context_cov
                + _cue_bonus(question, sentence)
                + 0.05 * order_agreement(terms, sentence)
                + 0.1 / (1 + pi)
            )
            if best is None or score > best.score:
                best = Candidate(pi, start, end, score, context_cov)
    return best


def compose(
    question: str,
    terms: Sequence[str],
    hits: Sequence[Hit],
    chunks: Sequence[Chunk],
    lexical: LexicalIndex,
    split: Callable[[str], list[tuple[int, int]]],
    answerability: Answerability,
) -> Composed:
    """Pick the answer for hits aligned with chunks and decide whether to give it."""
    passages = [
        Passage(
            n=i + 1,
            doc_id=c.doc_id,
            title=c.title,
            section=c.section,
            start=c.start,
            end=c.end,
            score=h.score,
            text=c.text,
            chunk_id=h.chunk_id,
            page=c.page,
        )
        for i, (h, c) in enumerate(zip(hits, chunks, strict=True))
    ]
    cosines = [h.dense_score for h in hits if h.dense_score is not None]
    best_cosine = max(cosines) if cosines else None
    best = best_sentence(question, terms, chunks, lexical, split) if passages else None
    if best is None:
        return Composed(False, NO_ANSWER, passages, 0.0, 0.0, best_cosine)
    source = chunks[best.passage_index]
    coverage = best.passage_coverage
    support = answerability.support(coverage, best_cosine)
    if support < answerability.threshold:
        return Composed(False, NO_ANSWER, passages, support, coverage, best_cosine)
    start = _with_dated_heading(question, source, best.start, best.end)
    sentence = source.text[start : best.end]
    for p in passages:
        at = p.text.find(sentence)
        if at >= 0:
            p.answer_start, p.answer_end = at, at + len(sentence)
    answer = " ".join(sentence.split())  # a heading line joins its sentence with one space
    marked = f"{answer}[{best.passage_index + 1}]"
    return Composed(True, marked, passages, support, coverage, best_cosine)


def _with_dated_heading(question: str, chunk: Chunk, start: int, end: int) -> int:
    """Start the answer at the section heading when it holds the date the question asks.

    Chronicles put the date on its own line ("11月4日") above the event; the event
    sentence alone would not answer "哪天".
    """
    if not any(c in question for c in _DATE_CUES) or _HAS_DATE.search(chunk.text[start:end]):
        return start
    heading = chunk.section.strip()
    if heading and _HAS_DATE.search(heading) and chunk.text[:start].strip() == heading:
        return chunk.text.find(heading)
    return start
