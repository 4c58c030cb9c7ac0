"""The question's numbers, ordinals and measure words against a text.

Why: "第10条" is not "第8条", "2022年全年" is not "今年1—4月", and "115项" answers "多少项"
where a bare "115" may not. Numbers match in digits or in Chinese numerals (cn2an):
"23岁" is "二十三岁".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from wenda.index.query.asked_type import CLASSIFIERS
from wenda.index.query.question import Question, ordinals_in


def unit_hit(unit: str | None, folded: str) -> float:
    if not unit:
        return 0.0
    return float(bool(_unit_pattern(unit).search(folded)))


@functools.lru_cache(maxsize=1024)
def _unit_pattern(unit: str) -> re.Pattern[str]:
    """A number, then the measure word asked for ("115项", "三座"), also approximate
    ("40多家", "5万余家", "10余个", "1.5万多名"); not an ordinal ("第一个" counts nothing).
    The generic 个 takes any classifier: "多少个嫌疑人" is answered by "嫌疑人29人"."""
    number = rf"(?<![第\d{_CN_NUM}.])[\d{_CN_NUM}][\d{_CN_NUM}.,]*"
    about = r"(?:多|余|餘)?"
    words = f"[{CLASSIFIERS}]" if unit in ("个", "個") else re.escape(unit)
    return re.compile(rf"{number}\s*{about}[万萬亿億千百]?{about}\s*{words}")


_CN_NUM = "一二三四五六七八九十两兩零〇"


def num_missing(q: Question, folded: str) -> float:
    """Share of the question's numbers the text lacks (``holds_number``)."""
    if not q.numbers:
        return 0.0
    return sum(not holds_number(x, folded) for x in q.numbers) / len(q.numbers)


def holds_number(number: str, text: str) -> bool:
    """``number`` occurs in ``text`` as a whole number (no digit, nor a decimal part, joined
    to it on either side: "1" is not in "1929", "10" not in "105" or "10.5"), written in
    digits or in Chinese numerals ("23岁" is "二十三岁", "1998年" is "一九九八年")."""
    return _holds_whole(number, text) or _holds_whole(number, arabic_numerals(text))


def _holds_whole(number: str, text: str) -> bool:
    return number in text and bool(_whole_number(number).search(text))


@functools.lru_cache(maxsize=1024)
def _whole_number(number: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\d.]){re.escape(number)}(?![\d]|\.\d)")


def _ordinal(o: tuple[str, str]) -> tuple[str, str]:
    """An ordinal with its value in digits: ("一", "届") is ("1", "届")."""
    value = arabic_numerals(o[0])
    return (value if value.isdigit() else o[0], o[1])


@functools.lru_cache(maxsize=4096)
def _ordinals(text: str) -> frozenset[tuple[str, str]]:
    return frozenset(_ordinal(o) for o in ordinals_in(text))


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


def ordinal_conflict(q: Question, folded: str) -> float:
    """The text has an ordinal of the unit asked about, but not the one asked ("第8条"
    where the question asks "第10条"; "第一届" and "第1届" are the same)."""
    if not q.ordinals:
        return 0.0
    wanted = {_ordinal(o) for o in q.ordinals}
    units = {u for _, u in wanted}
    same_unit = [o for o in _ordinals(folded) if o[1] in units]
    return float(bool(same_unit) and not wanted & set(same_unit))
