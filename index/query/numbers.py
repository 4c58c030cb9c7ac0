"""The question's numbers, ordinals and measure words against a text.

Why: "第10条" is not "第8条", "2022年全年" is not "今年1—4月", and "115项" answers "多少项"
where a bare "115" may not. Numbers match in digits or in Chinese numerals (cn2an):
"23岁" is "二十三岁".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from wenda.index.query.question import Question, ordinals_in


def unit_hit(unit: str | None, folded: str) -> float:
    if not unit:
        return 0.0
    return float(bool(_unit_pattern(unit).search(folded)))


@functools.lru_cache(maxsize=1024)
def _unit_pattern(unit: str) -> re.Pattern[str]:
    """A number, then the measure word asked for ("115项", "三座")."""
    number = rf"[\d{_CN_NUM}][\d{_CN_NUM}.,]*"
    return re.compile(rf"{number}\s*(?:多|余|餘)?[万萬亿億千百]?{re.escape(unit)}")


_CN_NUM = "一二三四五六七八九十两兩零〇"


def num_missing(q: Question, folded: str) -> float:
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


def ordinal_conflict(q: Question, folded: str) -> float:
    if not q.ordinals:
        return 0.0
    found = ordinals_in(folded)
    wanted = set(q.ordinals)
    units = {u for _, u in wanted}
    same_unit = [o for o in found if o[1] in units]
    return float(bool(same_unit) and not wanted & set(same_unit))
