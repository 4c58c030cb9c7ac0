"""What a question asks for: content terms, expected answer type, numbers, question form.

Why: a sentence that shares the question's words is not yet an answer. "多少钱" wants an
amount of money, "谁" a person, "第10条" exactly that article, "2022年" that year. These
are read off the question once, then checked against every candidate sentence
(``wenda.index.query.features``). Patterns cover simplified and traditional forms (DRCD).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from wenda.index.query.asked_type import CLASSIFIERS, expected_type

ANSWER_TYPES = (
    "money",
    "area",
    "measure",
    "duration",
    "year",
    "date",
    "ordinal",
    "count",
    "person",
    "place",
    "org",
)
TYPE_NAMES = {  # the Chinese word a refusal uses for a missing answer type
    "money": "金额",
    "area": "面积",
    "measure": "长度、高度或重量",
    "duration": "时长",
    "year": "年份",
    "date": "日期或时间",
    "ordinal": "序号（第几）",
    "count": "数量",
    "person": "人名",
    "place": "地点",
    "org": "机构名称",
}
ENTITY_TYPES = frozenset({"person", "place", "org"})  # need POS tags to check
NUMERIC_TYPES = frozenset({"money", "area", "measure", "duration", "count"})

_CL = CLASSIFIERS

_QUESTION_FORM = re.compile(
    r"[?？]|什[么麼]|[吗嗎呢]|[谁誰]|哪|[几幾]|多少|怎|如何|[为為]何|是否|何[时時处處地人]|"
    r"介[绍紹]|[说說]明|解[释釋]|告[诉訴]|列出|有没有|有沒有|是不是|能否|可否|多[长長大高远遠重久]"
)
_ATTRIBUTE_LAST = re.compile(  # "医院数量", "中欧班列票价": an attribute asked by naming it
    r"(?:(数量|數量|人数|人數|数目|數目|总数|總數|面[积積]|价格|價格|票价|票價|[费費]用|金[额額]|[长長]度|"
    r"距[离離]|人口|规模|規模)|(日期|[时時][间間])|(地[点點址]))[\s?？。!！]*$"
)
_IMPLIED = ("是多少？", "是什么时候？", "在哪里？")  # the question each group of attributes asks
_CONTENT_CHAR = re.compile(r"\w", re.UNICODE)
KEYWORD_MAX_CHARS = 12  # a longer query without question form still reads as a question

_ARABIC = re.compile(r"\d+(?:\.\d+)?")
_CN_DIGITS = "零〇一二三四五六七八九十百千两兩"
_ORDINAL = re.compile(rf"第([\d{_CN_DIGITS}]+)([{_CL}章节節款条條期])")


@dataclass(frozen=True)
class Question:
    """A question read once; every candidate sentence is scored against it."""

    text: str
    terms: tuple[str, ...]  # distinct content tokens, in order
    weights: tuple[float, ...]  # IDF of each term
    answer_type: str | None  # one of ANSWER_TYPES, or None (a definition, a reason, ...)
    numbers: tuple[str, ...]  # arabic numbers in the question ("2022", "10")
    ordinals: tuple[tuple[str, str], ...]  # ("10", "条") for "第10条"
    is_keyword: bool  # no question form and very few content characters
    bigrams: tuple[str, ...] = ()  # character bigrams of the question (segmentation-free)
    trigrams: tuple[str, ...] = ()
    wh_context: tuple[str, ...] = ()  # the terms right before/after the question word
    unit: str | None = None  # the measure word asked for: "几座" → "座", "多少家" → "家"
    focus: tuple[str, ...] = ()  # what is asked about: 几座机场 → 机场, 票价是多少 → 票价
    focus_unseen: float = 0.0  # log10(1 + dictionary frequency) of a focus term that no
    # document of the index holds (0 if none): a common word absent everywhere is off-topic

    @property
    def total_weight(self) -> float:
        return sum(self.weights)


def is_keyword_query(text: str) -> bool:
    """ "川渝" is a search, not a question: no question form, at most 12 content chars, and
    no attribute named at the end ("医院数量" asks how many)."""
    content = len(_CONTENT_CHAR.findall(text))
    return (
        content <= KEYWORD_MAX_CHARS
        and not _QUESTION_FORM.search(text)
        and not _ATTRIBUTE_LAST.search(text)
    )


def implied_question(text: str) -> str:
    """``text`` with the question an attribute named at its end implies ("中欧班列票价" →
    "中欧班列票价是多少？"), so the asked type and focus are read as for the full question;
    other text as it is."""
    found = _ATTRIBUTE_LAST.search(text)
    if found is None or _QUESTION_FORM.search(text):
        return text
    group = found.lastindex or 1  # the one alternative that matched
    return text[: found.start()] + found.group(group) + _IMPLIED[group - 1]


def read_question(
    text: str,
    terms: list[str],
    term_idf: Callable[[str], float],
    fold: Callable[[str], str],
    question_words: frozenset[str] = frozenset(),
) -> Question:
    """Analyse ``text``; ``terms`` are its query tokens, ``fold`` the matching form.

    ``question_words`` (何时, 哪一年… see ``question_words``) are not terms an answer must
    hold; retrieval still gets every token."""
    terms = [t for t in terms if t not in question_words]
    implied = implied_question(text)
    folded = fold(implied)
    focus = focus_terms(folded, terms)
    unseen = term_idf(_NEVER_A_TOKEN) if focus else math.inf  # the index's unseen-term IDF
    return Question(
        text=text,
        terms=tuple(terms),
        weights=tuple(term_idf(t) for t in terms),
        answer_type=expected_type(folded) or expected_type(implied),
        numbers=tuple(dict.fromkeys(_ARABIC.findall(folded))),
        ordinals=tuple(dict.fromkeys(_ORDINAL.findall(folded))),
        is_keyword=is_keyword_query(text),
        bigrams=char_ngrams(folded, 2),
        trigrams=char_ngrams(folded, 3),
        wh_context=wh_context(folded, terms),
        unit=asked_unit(folded),
        focus=focus,
        focus_unseen=max((_word_frequency(t) for t in focus if term_idf(t) >= unseen), default=0.0),
    )


def _word_frequency(term: str) -> float:
    """log10(1 + frequency) of a noun in jieba's dictionary; 0 for a segmentation fragment
    ("松有") or a verb ("位于": a document may say 设在 instead)."""
    from wenda.index.query.answer_types import pos_tagger
    from wenda.index.store.lexical import dictionary_frequency

    if not str(pos_tagger().word_tag_tab.get(term, "")).startswith("n"):
        return 0.0
    return math.log10(1 + dictionary_frequency(term))


_NEVER_A_TOKEN = "\x00"  # no tokenizer emits it: its IDF is what every unseen term gets


_FUNCTION_CHARS = frozenset(
    "的了是在和与及或也都就而并又被把对从向由为以于之其这那哪什么多少几怎如何吗呢吧啊有个谁要会能可"
)


_WH = re.compile(
    r"[谁誰]|什[么麼]|哪|多少|[几幾]|何|怎|如何|[为為]什[么麼]|是否|多[长長大高远遠重久]"
)


def asks_for_value(term: str) -> bool:
    """A question phrase that asks for a kind of value (哪天, 多长时间, 几个, 多少钱): the slot
    the answer fills, never something the documents lack. 面积 or 金额 name a kind of value
    without asking (no question word), so they stay terms a refusal can name."""
    return bool(_WH.search(term)) and expected_type(term) is not None


def wh_context(folded: str, terms: list[str]) -> tuple[str, ...]:
    """The content terms nearest the question word, one each side: an answer sentence
    usually keeps them next to the answer ("由谁捐献土地" → "由铁路局捐献土地")."""
    m = _WH.search(folded)
    if m is None:
        return ()
    before: tuple[int, str] | None = None
    after: tuple[int, str] | None = None
    for t in terms:
        at = folded.find(t)
        if at < 0:
            continue
        if at + len(t) <= m.start() and (before is None or at > before[0]):
            before = (at, t)
        if at >= m.end() and (after is None or at < after[0]):
            after = (at, t)
    return tuple(t for _, t in (x for x in (before, after) if x is not None))


_GENERIC_CHARS = frozenset("一二三四五六七八九十两兩几幾年月日天时時候间間个個位种種次")
_COUNTING = frozenset({"几", "幾", "多少"})
FOCUS_GAP = 2  # characters allowed between the question word and its focus (量词, 是, 的)


_AMOUNT_NOUN = re.compile(  # "how many" said as a noun: answers give the number, not the word
    r"(?:数量|數量|数目|數目|总数|總數|个数|個數|总量|總量)(?=(?:是|为|為|有|约|約|大约|大約|共)?(?:多少|[几幾]))"
)


def focus_terms(folded: str, terms: list[str]) -> tuple[str, ...]:
    """The thing asked about: the term right after a counting question word ("几座机场" →
    机场), else the one right before the question word ("票价是多少", "馆长是谁"). A sentence
    that answers names it. After 哪/什么 comes a category ("哪个城市", "什么职务") that the
    answer instantiates without naming, so it is not a focus."""
    folded = _AMOUNT_NOUN.sub("", folded)  # "医院数量是多少": the focus is 医院
    m = _WH.search(folded)
    if m is None:
        return ()
    counting = m.group() in _COUNTING  # "哪个城市", "什么职务": a category, not a must-name
    after: tuple[int, str] | None = None
    before: tuple[int, str] | None = None
    for t in terms:
        if len(t) < 2 or _WH.search(t) or set(t) <= _GENERIC_CHARS:
            continue
        at = folded.find(t)
        if at < 0:
            continue
        # nearest first; at the same place the longest word ("停车场", not its "停车")
        if (
            counting
            and 0 <= at - m.end() <= FOCUS_GAP
            and (after is None or (at, -len(t)) < (after[0], -len(after[1])))
        ):
            after = (at, t)
        end = at + len(t)
        if 0 <= m.start() - end <= FOCUS_GAP and (
            before is None or (end, len(t)) > (before[0], len(before[1]))
        ):
            before = (end, t)
    chosen = after or before
    return (chosen[1],) if chosen else ()


_UNIT = re.compile(r"(?:多少|[几幾])([^\W\d的是么麽呢吗嗎了在有年月日号號])")


def asked_unit(folded: str) -> str | None:
    """The measure word after 多少/几 ("多少家", "几座", "多少公里" → 公); None if none."""
    m = _UNIT.search(folded)
    return m.group(1) if m else None


def char_ngrams(folded: str, n: int) -> tuple[str, ...]:
    """Distinct n-grams of word characters, except those made only of function characters.

    Word overlap depends on how jieba segments both sides (worse on traditional text);
    character bigrams do not.
    """
    chars = "".join(_CONTENT_CHAR.findall(folded))
    grams = (chars[i : i + n] for i in range(len(chars) - n + 1))
    return tuple(dict.fromkeys(g for g in grams if not set(g) <= _FUNCTION_CHARS))


def ordinals_in(text: str) -> list[tuple[str, str]]:
    return _ORDINAL.findall(text)
