"""Compose stage: choose the answer span of the top passages, or refuse and say why.

Why: trust is the product. An honest 资料中没有找到 with a reason the user can act on beats
a confident sentence that does not answer. The span and the decision come from the learned
model (``wenda.index.query.model``); the reason names what the evidence lacks: question
terms that occur in none of the top passages, or the kind of value asked for (金额, 人名…).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from wenda.index.models import Chunk
from wenda.index.query.answer_types import holds_type, pos_tagger
from wenda.index.query.features import (
    ANSWER_PASSAGES,
    SPAN_FEATURES,
    Span,
    candidate_spans,
    coverage,
    span_matrix,
)
from wenda.index.query.late import SentenceScores
from wenda.index.query.model import AnswerModel, gate_features
from wenda.index.query.numbers import holds_number
from wenda.index.query.passages import PassageReading
from wenda.index.query.question import TYPE_NAMES, Question, asks_for_value
from wenda.index.store.lexical import dictionary_frequency

NO_ANSWER = "资料中没有找到相关内容。"
KEYWORD_REASON = (
    "“{query}”像是关键词而不是问题，下面列出相关段落；请输入完整的问题，例如“{query}是什么？”。"
)
NO_CONTENT_REASON = (  # "是", "的", "<": nothing to search for, and no question either
    "“{query}”里没有可以查找的词；请输入完整的问题，写出要问的事物，例如“某某项目是哪一年开工的？”。"
)
ASK_IN_CHINESE = "资料以中文为主，请用中文提问试试。"  # added when a question has no Chinese at all
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
QUOTED_MAX_CHARS = 20  # the user's input echoed in a reason, cut beyond this
MISSING_TERMS_REASON = "资料中没有找到“{terms}”的相关内容。"
MISSING_TYPE_REASON = "资料中有相关段落，但没有找到所问的{kind}。"
NO_SENTENCE_REASON = "资料中的段落与问题相关，但没有一句话能回答这个问题。"
NO_TERMS_REASON = (
    "问题里只有疑问词，没有要查的内容；请写出要问的事物，例如“某某项目是哪一年开工的？”。"
)
MAX_MISSING_SHOWN = 3
_TYPE_HIT = SPAN_FEATURES.index("type_hit")
_NUM_MISSING = SPAN_FEATURES.index("num_missing")
_TYPE_MISS = SPAN_FEATURES.index("type_miss")


@dataclass
class Candidate:
    """One retrieved passage flowing through the pipeline, with every score it gets."""

    chunk_id: int
    chunk: Chunk
    score: float  # fused (or reranked) retrieval score in [0, 1]
    dense_rank: int | None = None
    lexical_rank: int | None = None
    dense_score: float | None = None  # cosine to the question, when known
    span_score: float | None = None  # best answer-span score in this passage (compose)
    sentences: SentenceScores | None = None  # its sentence states against the question


@dataclass(frozen=True)
class Evidence:
    """The candidate spans of the top passages and the question-level values the gate uses."""

    spans: list[Span]
    union: str  # matching form of the top passages with titles (what a refusal checks)
    union_coverage: float
    best_cos: float | None


@dataclass
class Decision:
    """What compose decided; ``best`` indexes ``evidence.spans`` (the chosen span)."""

    answerable: bool
    support: float
    answer: str = NO_ANSWER
    best: int | None = None
    reason: str | None = None
    missing: list[str] = field(default_factory=list)
    evidence: Evidence | None = None
    span_scores: np.ndarray | None = None
    gate_row: np.ndarray | None = None

    @property
    def span(self) -> Span | None:
        if self.evidence is None or self.best is None:
            return None
        return self.evidence.spans[self.best]


def gather_evidence(
    q: Question,
    candidates: Sequence[Candidate],
    fold: Callable[[str], str],
    use_cosine: bool,
    readings: Mapping[int, PassageReading] | None = None,
) -> Evidence:
    """The top passages' candidate spans; ``readings`` by chunk id, computed ahead. The
    late-chunked span features are filled when every top passage has sentence scores."""
    top = list(candidates[:ANSWER_PASSAGES])
    cosines = [c.dense_score if use_cosine else None for c in top]
    ready = [readings.get(c.chunk_id) for c in top] if readings else ()
    chunks = [c.chunk for c in top]
    sentences = [c.sentences for c in top if c.sentences is not None]
    if not use_cosine or not has_sentence_scores(top):
        sentences = []
    spans = candidate_spans(q, chunks, [c.score for c in top], cosines, fold, ready, sentences)
    union = fold(" ".join(f"{c.chunk.title} {c.chunk.section} {c.chunk.text}" for c in top))
    known = [c for c in cosines if c is not None]
    return Evidence(spans, union, coverage(q, union), max(known) if known else None)


def has_sentence_scores(candidates: Sequence[Candidate]) -> bool:
    """Whether the top passages all carry sentence scores (the ``late`` model applies)."""
    top = candidates[:ANSWER_PASSAGES]
    return bool(top) and all(c.sentences is not None for c in top)


def quoted(text: str) -> str:
    """The user's input as a reason echoes it: stripped, cut to ``QUOTED_MAX_CHARS``."""
    text = " ".join(text.split())
    return text if len(text) <= QUOTED_MAX_CHARS else text[: QUOTED_MAX_CHARS - 1] + "…"


def compose(
    q: Question,
    candidates: Sequence[Candidate],
    model: AnswerModel,
    fold: Callable[[str], str],
    threshold: float | None = None,
    use_cosine: bool = True,
    readings: Mapping[int, PassageReading] | None = None,
) -> Decision:
    """Pick the span the model rates highest; answer when the gate's support clears the cut."""
    if not candidates:
        return Decision(False, 0.0, reason=NO_ANSWER, missing=nameable(_content_terms(q)))
    if q.is_keyword:
        template = KEYWORD_REASON if q.terms else NO_CONTENT_REASON
        reason = template.format(query=quoted(q.text))
        return Decision(False, 0.0, answer=reason, reason=reason)
    if not q.terms:  # "哪一年？", "是什么？": nothing to look for, only how to ask
        return Decision(False, 0.0, answer=NO_TERMS_REASON, reason=NO_TERMS_REASON)
    ev = gather_evidence(q, candidates, fold, use_cosine, readings)
    if not ev.spans:
        return Decision(False, 0.0, reason=NO_SENTENCE_REASON, evidence=ev)
    scores = model.span.score(span_matrix(ev.spans))
    for i, c in enumerate(candidates[:ANSWER_PASSAGES]):
        mine = [float(s) for s, sp in zip(scores, ev.spans, strict=True) if sp.passage == i]
        c.span_score = max(mine) if mine else None
    best = int(np.argmax(scores))
    row = gate_features(
        ev.spans,
        scores,
        best,
        best_cos=ev.best_cos,
        union_coverage=ev.union_coverage,
        typed=q.answer_type is not None,
        n_terms=len(q.terms),
    )
    support = model.support(row)
    cut = model.threshold if threshold is None else threshold
    decision = Decision(True, support, best=best, evidence=ev, span_scores=scores, gate_row=row)
    typed_out = _type_missing(q, ev.spans[best], model)
    if support < cut or _numbers_disagree(q, ev.spans) or _focus_unseen(q, model) or typed_out:
        decision.answerable = False
        decision.reason, decision.missing = explain(q, ev.spans, ev.union, typed_out)
        return decision
    chosen = ev.spans[best]
    heading = _with_typed_heading(q, candidates[chosen.passage].chunk, chosen, fold)
    if heading is not chosen:
        ev.spans[best] = chosen = heading
    decision.answer = f"{' '.join(chosen.text.split())}[{chosen.passage + 1}]"
    return decision


def _with_typed_heading(q: Question, chunk: Chunk, span: Span, fold: Callable[[str], str]) -> Span:
    """Start the answer at the section heading right above it when only the heading holds
    the value asked for: chronicles put the date on its own line ("11月4日") above the
    event, and the event sentence alone does not answer "哪天"."""
    heading = chunk.section.strip()
    if q.answer_type is None or not heading or span.features[_TYPE_HIT]:
        return span
    at = chunk.text.find(heading)
    if at < 0 or chunk.text[at + len(heading) : span.start].strip():
        return span
    if not holds_type(q.answer_type, fold(heading), fold(heading)):
        return span
    text = chunk.text[at : span.end]
    return Span(span.passage, at, span.end, text, span.features, span.mid)


def _numbers_disagree(q: Question, spans: Sequence[Span]) -> bool:
    """No span holds all of the question's numbers ("2022年全年" vs "今年1—4月"); measured on
    the training data by ``wenda.index.query.refusal_rules.numbers_disagree``."""
    return bool(q.numbers) and all(s.features[_NUM_MISSING] > 0 for s in spans)


def _focus_unseen(q: Question, model: AnswerModel) -> bool:
    """The thing asked about is a common word that no document holds ("几座机场" in a corpus
    without 机场); the frequency cut is learned
    (``wenda.index.query.refusal_rules.focus_rule_cut``)."""
    rule = model.focus_rule
    return rule is not None and q.focus_unseen > 0 and q.focus_unseen >= rule


def _type_missing(q: Question, chosen: Span, model: AnswerModel) -> bool:
    """The value asked for is of a type the sentence chosen does not hold ("哪一年通车"
    answered by "加快推进渝昆高铁建设"); which types is learned
    (``wenda.index.query.refusal_rules.type_rule_family``)."""
    types = model.type_rule
    if not types or q.answer_type not in types:
        return False
    return bool(chosen.features[_TYPE_MISS] > 0)


def explain(
    q: Question, spans: Sequence[Span], union: str, type_missing: bool = False
) -> tuple[str, list[str]]:
    """One short Chinese sentence saying what the evidence lacks, and the lacking items
    (``type_missing``: the type rule refused, so the value asked for is what lacks)."""
    missing = nameable(absent_terms(q, union))
    if q.answer_type is not None and not type_missing:
        type_missing = not any(s.features[_TYPE_HIT] for s in spans)
    if missing:
        shown = "、".join(missing[:MAX_MISSING_SHOWN])
        kind = TYPE_NAMES[q.answer_type] if type_missing and q.answer_type else None
        extra = [kind] if kind and kind not in missing else []
        reason = MISSING_TERMS_REASON.format(terms=shown)
        if not _CJK.search(q.text):  # "How many hospitals…?" over Chinese documents
            reason += ASK_IN_CHINESE
        return reason, missing + extra
    if type_missing and q.answer_type:
        kind = TYPE_NAMES[q.answer_type]
        return MISSING_TYPE_REASON.format(kind=kind), [kind]
    return NO_SENTENCE_REASON, []


def absent_terms(q: Question, union: str) -> list[str]:
    """The question's content terms that no top passage holds, in question order, leaving
    out one held within a longer absent term and words jieba made up (``_split_differently``)."""
    absent = list(dict.fromkeys(t for t in _content_terms(q) if _absent(t, union)))
    return [
        t
        for t in absent
        if not any(t != o and t in o for o in absent) and not _split_differently(t, union)
    ]


def _absent(term: str, union: str) -> bool:
    """A number is absent unless it occurs whole, in digits or in Chinese numerals, as the
    number rule reads it ("10" is not in "第105条"; "23" is in "二十三岁")."""
    return not holds_number(term, union) if term.isdigit() else term not in union


CLOSED_WORD_CLASSES = ("m", "p", "c", "d", "r", "u", "f")
"""jieba's closed word classes: numeral words, prepositions, conjunctions, adverbs,
pronouns, particles, localisers (一个, 对于, 如果, 通常, 期间); adverbial adjectives ("ad":
突然) go with the adverbs."""


def nameable(terms: Sequence[str]) -> list[str]:
    """The absent terms worth naming to a user, things first: nouns, names and numbers,
    then other open-class words; closed-class words are dropped, since a passage that lacks
    "一个" or "对于" tells the user nothing. Over 393 refused cut questions of CMRC + DRCD
    this raised the share of named terms that were in the deleted answer sentence from
    60.5% to 65.5%, and the share of reasons naming one from 84.0% to 85.2%
    (``bench/refusal_reasons.py``)."""
    tags = pos_tagger().word_tag_tab
    things, others = [], []
    for t in terms:
        tag = str(tags.get(t, ""))
        if t.isdigit() or tag.startswith("n") or tag in ("vn", "j"):
            things.append(t)
        elif not tag.startswith(CLOSED_WORD_CLASSES) and tag != "ad":
            others.append(t)
    return things + others


def _split_differently(term: str, union: str) -> bool:
    """A word jieba's HMM made up from characters that the passages all hold ("人办" out of
    "有多少人办了备案"): what was meant is there, only segmented another way, so naming it
    as missing would mislead. Dictionary words, names the passages lack and numbers stay."""
    made_up = bool(_CJK_WORD.fullmatch(term)) and not dictionary_frequency(term)
    return made_up and set(term) <= set(union)


_CJK_WORD = re.compile(r"[\u4e00-\u9fff]+")


def _content_terms(q: Question) -> list[str]:
    """Question terms worth naming to a user: words of 2+ characters, or numbers, but not
    a phrase asking for the value (哪天, 多长时间) nor a piece of one (长时间); the focus term
    (what is asked about) first."""
    asking = [t for t in q.terms if asks_for_value(t)]
    named = [
        t
        for t in q.terms
        if (len(t) >= 2 or t.isdigit()) and not any(t in phrase for phrase in asking)
    ]
    return [t for t in q.focus if t in named] + [t for t in named if t not in q.focus]


def answer_offsets(texts: Sequence[str], answer_text: str) -> list[tuple[int, int] | None]:
    """Where the answer span occurs in each passage text (passages overlap by a sentence)."""
    out: list[tuple[int, int] | None] = []
    for text in texts:
        at = text.find(answer_text)
        out.append(None if at < 0 else (at, at + len(answer_text)))
    return out
