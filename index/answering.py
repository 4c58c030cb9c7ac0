"""From retrieved passages to a short cited answer, and the decision to answer at all.

The answer is the sentence of the top passages that best covers the question's content
words (IDF-weighted), with small bonuses when the question asks for a number or a date
and the sentence has one. Answerability ("support") is the IDF-weighted share of the
question's content words found in the best passage: a question whose rarest words appear
nowhere near the evidence is one the documents do not answer. The threshold was
calibrated on data (see ``bench/calibrate.py`` and the README), not guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.lexical import LexicalIndex
from index.models import Chunk, Passage
from index.normalize import nfkc
from index.retriever import Hit

NO_ANSWER = "资料中没有找到相关内容。"
DEFAULT_MIN_SUPPORT = 0.5  # replaced by the calibrated value below once measured

_NUMBER_CUES = ("多少", "几", "多长", "多大", "多高", "多远", "多重", "比例", "数量", "规模")
_DATE_CUES = ("哪天", "哪一天", "何时", "什么时候", "哪年", "哪一年", "几月", "几号", "日期")
_HAS_NUMBER = re.compile(r"\d|[一二三四五六七八九十百千万亿两]+[个件次家条座项人名份元年月日]")
_HAS_DATE = re.compile(r"\d{1,2}月\d{1,2}日|\d{4}年|\d{1,2}月|\d{1,2}日")
ANSWER_PASSAGES = 3  # sentences are picked from this many top passages


@dataclass(frozen=True)
class Candidate:
    passage_index: int
    start: int
    end: int
    score: float


def term_coverage(terms: Sequence[str], text: str, lexical: LexicalIndex) -> float:
    """IDF-weighted share of ``terms`` that occur in ``text`` (normalized)."""
    if not terms:
        return 0.0
    norm = nfkc(text)
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
            if len(sentence.strip()) < 4:
                continue
            score = (
                0.7 * term_coverage(terms, sentence, lexical)
                + 0.3 * context_cov
                + _cue_bonus(question, sentence)
                + 0.1 / (1 + pi)
            )
            if best is None or score > best.score:
                best = Candidate(pi, start, end, score)
    return best


def compose(
    question: str,
    terms: Sequence[str],
    hits: Sequence[Hit],
    chunks: Sequence[Chunk],
    lexical: LexicalIndex,
    split: Callable[[str], list[tuple[int, int]]],
    min_support: float,
) -> tuple[bool, str, list[Passage], float]:
    """Return (answerable, answer, passages, support) for hits aligned with chunks."""
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
        )
        for i, (h, c) in enumerate(zip(hits, chunks, strict=True))
    ]
    if not passages:
        return False, NO_ANSWER, passages, 0.0
    best = best_sentence(question, terms, chunks, lexical, split)
    if best is None:
        return False, NO_ANSWER, passages, 0.0
    source = chunks[best.passage_index]
    support = term_coverage(terms, f"{source.section} {source.text}", lexical)
    if support < min_support:
        return False, NO_ANSWER, passages, support
    sentence = source.text[best.start : best.end]
    for p in passages:
        at = p.text.find(sentence)
        if at >= 0:
            p.answer_start, p.answer_end = at, at + len(sentence)
    return True, f"{sentence}[{best.passage_index + 1}]", passages, support
