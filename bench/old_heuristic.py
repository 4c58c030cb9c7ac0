"""The answer heuristic Wenda shipped before the learned model, kept only as a baseline.

Why: the ablation table must show "old heuristic" and "learned" on the same data in the
same run. This is the previous ``answer.py`` logic verbatim (hand-set weights 0.7/0.3,
cue-word bonuses, a coverage + cosine logistic gate fitted on CMRC with whole articles
held out), adapted to the pipeline's ``Composer`` signature. Nothing in the package uses it.
Given the core, it reads each question as it was read then: every query token a term,
before the learned question words (``wenda.index.query.question_words``) were dropped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from wenda.index.ingest.normalize import match_key
from wenda.index.ingest.sentences import split_sentences
from wenda.index.query.answer import NO_ANSWER, Candidate, Decision, Evidence
from wenda.index.query.features import Span
from wenda.index.query.passages import in_order
from wenda.index.query.pipeline import match_form
from wenda.index.query.question import Question, read_question

COVERAGE_WEIGHT, DENSE_WEIGHT, BIAS = 10.88, 89.03, -84.35  # the old fitted gate
COVERAGE_ONLY = (14.24, 0.0, -7.38)  # its coverage-only variant (BM25 mode)
_NUMBER_CUES = ("多少", "几", "多长", "多大", "多高", "多远", "多重", "比例", "数量", "规模")
_DATE_CUES = ("哪天", "哪一天", "何时", "什么时候", "哪年", "哪一年", "几月", "几号", "日期")
_HAS_NUMBER = re.compile(r"\d|[一二三四五六七八九十百千万亿两]+[个件次家条座项人名份元年月日]")
_HAS_DATE = re.compile(r"\d{1,2}月\d{1,2}日|\d{4}年|\d{1,2}月|\d{1,2}日")


def _coverage(terms: Sequence[str], weights: Sequence[float], text: str) -> float:
    if not terms:
        return 0.0
    norm = match_key(text)
    return sum(w for t, w in zip(terms, weights, strict=True) if t in norm) / sum(weights)


def _order(terms: Sequence[str], text: str) -> float:
    norm = match_key(text)
    return in_order([norm.find(t) for t in terms])


def _bonus(question: str, sentence: str) -> float:
    bonus = 0.0
    if any(c in question for c in _NUMBER_CUES) and _HAS_NUMBER.search(sentence):
        bonus += 0.15
    if any(c in question for c in _DATE_CUES) and _HAS_DATE.search(sentence):
        bonus += 0.15
    return bonus


def old_heuristic(
    core: Any = None, with_cosine: bool = True
) -> Callable[[Question, list[Candidate]], Decision]:
    """A composer with the old selection and gate (``with_cosine``: its default-model fit)."""

    def compose(q: Question, candidates: list[Candidate]) -> Decision:
        if core is not None:
            with core.lease() as reader:
                terms = core.tokenizer.query_terms(q.text)
                q = read_question(q.text, terms, reader.term_idf, match_form)
        best: tuple[float, int, int, int, float] | None = None
        for pi, c in enumerate(candidates[:3]):
            chunk = c.chunk
            context = _coverage(q.terms, q.weights, f"{chunk.section} {chunk.text}")
            for start, end in split_sentences(chunk.text):
                sentence = chunk.text[start:end]
                if len(sentence.strip()) < 4 or sentence.strip() == chunk.section.strip():
                    continue
                score = (
                    0.7 * _coverage(q.terms, q.weights, sentence)
                    + 0.3 * context
                    + _bonus(q.text, sentence)
                    + 0.05 * _order(q.terms, sentence)
                    + 0.1 / (1 + pi)
                )
                if best is None or score > best[0]:
                    best = (score, pi, start, end, context)
        if best is None:
            return Decision(False, 0.0, reason=NO_ANSWER)
        _, pi, start, end, context = best
        cosines = [c.dense_score for c in candidates if c.dense_score is not None]
        old_fit = with_cosine and cosines
        w_cov, w_dense, bias = (COVERAGE_WEIGHT, DENSE_WEIGHT, BIAS) if old_fit else COVERAGE_ONLY
        dense = w_dense * max(cosines) if cosines and w_dense else 0.0
        support = 1.0 / (1.0 + math.exp(-(w_cov * context + dense + bias)))
        chunk = candidates[pi].chunk
        start = _with_dated_heading(q.text, chunk.text, chunk.section, start, end)
        text = chunk.text[start:end]
        evidence = Evidence([Span(pi, start, end, text, [])], "", context, None)
        if support < 0.5:
            return Decision(False, support, reason=NO_ANSWER, evidence=evidence)
        answer = f"{' '.join(text.split())}[{pi + 1}]"
        return Decision(True, support, answer=answer, best=0, evidence=evidence)

    return compose


def _with_dated_heading(question: str, text: str, heading: str, start: int, end: int) -> int:
    """The old rule: start at a date heading when "哪天" is asked and the sentence has none."""
    if not any(c in question for c in _DATE_CUES) or _HAS_DATE.search(text[start:end]):
        return start
    heading = heading.strip()
    if heading and _HAS_DATE.search(heading) and text[:start].strip() == heading:
        return text.find(heading)
    return start
