"""The kind of value a question asks for, read off its question phrase.

Why the phrase and not the whole question: "以什么材料……能降低雷达发现的距离" asks for a
material, not a distance; "哪一种人需要5马克的费用" asks for a kind of person, not money;
"麦高文有许多高明的决定" holds 多高 without asking a height. An attribute noun (距离, 费用,
面积, 人口) only sets the type when the question word follows it ("票价是多少", "全长多少公里",
"海拔多高"), and 哪/什么/何 take their type from the noun they ask about ("哪一个世纪" is a
date, "哪个城市" a place, "哪一种规则" none). When a question holds several question
phrases, the first one decides (Chinese asks in place, so most questions hold one).
"""

from __future__ import annotations

import re

CLASSIFIERS = "个個家项項人名座条條次件所种種位架辆輛部本首场場支只隻头頭列艘户戶间間门門届屆批"

_NUM_WH = r"(?:多少|(?<![这這那哪])[几幾](?![乎何十百千万萬亿億]))"  # 哪几种: which, not how many
_HOW = r"多[高长長重远遠深宽寬大粗厚]"
_HOW_FAR = r"多[高长長重远遠深宽寬粗厚]"  # not 多大: a size, an age or a share ("多大比例")
_LINK = r"(?:是|为|為|有|约|約|大约|大約|达|達|共|一共|总共|總共|到底|究竟)?"
# 哪/什么/何 with an optional 一 (or 几: 哪几个, which ones) and classifier;
# not 为什么 ("why") nor 几何/几乎
_WHICH = r"(?:哪|(?<![为為])什[么麼]|何)[一几幾]?[个個座种種类類位家所间間部条條支]?"


def _asked_after(attribute: str) -> str:
    """An attribute noun followed by the question word that asks for its value."""
    return rf"(?:{attribute}){_LINK}(?:{_NUM_WH}|{_HOW}|多久)"


_PLACE_NOUN = (
    r"(?:城市|国家|國家|省份?|地区|地區|州|县|縣|市|区|區|镇|鎮|村|岛|島|洲|国|國|地方|"
    r"里|裡|儿|兒|边|邊|位置|地点|地點|河流?|山|湖|海|港|站|街|路|大陆|大陸)"
)
_TIME_NOUN = (
    r"(?:一?年|一?天|日|月|世[纪紀]|年代|朝代?|[时時]代|[时時]期|季[节節]?|[时時]候|[时時][间間]|"
    r"[时時]段|届|屆)"
)
_PERSON_NOUN = (
    r"(?:位|人(?!口|数|數|民)|名人|皇帝|国王|國王|总统|總統|人物|作家|画家|畫家|球员|球員)"
)
_ORG_NOUN = (
    r"(?:公司|组织|組織|机构|機構|单位|單位|部门|部門|大学|大學|学校|學校|球队|球隊|俱乐部|俱樂部|"
    r"银行|銀行|企业|企業|政党|政黨|团体|團體|医院|醫院|报社|報社|媒体|媒體|家族|家)"
)

ASKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "money",
        re.compile(
            r"多少[钱錢]|多少(?:[万萬亿億千百])?(?:元|美元|港元|港幣|欧元|歐元|日元|英镑|英鎊)|"
            + _asked_after(
                r"[票售房]?价格?|[票售房]?價格?|[费費]用|金[额額]|成本|[资資]金|[总總]?投[资資](?:[总總]?[额額])?|"
                r"收入|工[资資]|薪[水资資]|预算|預算|造价|造價|[税稅]|利润|利潤|[产產]值|GDP|gdp"
            )
        ),
    ),
    (
        "area",
        re.compile(
            r"多少平方|(?:多少|[几幾])(?:亩|畝|公[顷頃])|"
            + _asked_after(r"面[积積]|占地|佔地|范[围圍]|範圍")
        ),
    ),
    (
        "measure",
        re.compile(
            rf"(?<![许許很好众眾诸諸最太差])(?:{_HOW_FAR})(?!度|少|数|數|[时時][间間]|久)|"
            r"(?:多少|[几幾])(?:公里|千米|米|公尺|厘米|毫米|英尺|英寸|英里|公斤|千克|克|吨|噸|磅|光年|海里)|"
            + _asked_after(
                r"[体體][长長重]|身高|高度|[长長]度|重量|距[离離]|海拔|直[径徑]|全[长長]|深度|[宽寬]度|"
                r"速度|[时時]速|温度|溫度|里程"
            )
        ),
    ),
    (
        "duration",
        re.compile(
            r"多久|多[长長]的?[时時][间間]|多少(?:年|天|个月|個月|小[时時]|分[钟鐘]|周|週|秒)(?!份)|"
            r"[几幾](?:年|天|个月|個月|小[时時]|分[钟鐘]|周|週|秒)(?![级級])|"
            + _asked_after(r"[时時][长長]|[历歷][时時]|期限|任期|寿命|壽命|[周週]期")
        ),
    ),
    ("year", re.compile(rf"何年|年份|{_WHICH}年(?![代级級纪紀])|[几幾][几幾]年")),
    (
        "date",
        re.compile(
            rf"何[时時]|何日|{_WHICH}{_TIME_NOUN}|什[么麼][时時]候|[几幾]月|[几幾][号號日]|"
            r"日期|[几幾]世[纪紀]"  # 何年, 年份: the year pattern, tried first at a tie
        ),
    ),
    ("person", re.compile(rf"[谁誰]|何人|{_WHICH}{_PERSON_NOUN}|什[么麼]人")),
    ("org", re.compile(rf"{_WHICH}{_ORG_NOUN}")),
    (
        "place",
        re.compile(
            rf"何[处處]|何地|{_WHICH}{_PLACE_NOUN}|[在去到从從于於]哪(?:[里裡儿兒]|$|[?？，,。])|"
            r"哪[里裡儿兒]|首都"
        ),
    ),
    ("ordinal", re.compile(r"第(?:[几幾]|多少)")),
    (
        "count",
        re.compile(
            rf"{_NUM_WH}[{CLASSIFIERS}类類倍处處]|多少(?![钱錢年天月])|数量|數量|"
            + _asked_after(r"规模|規模|人口|人数|人數|数目|數目|[总總]数|[总總]數")
        ),
    ),
)


def expected_type(text: str) -> str | None:
    """The answer type of the first question phrase in ``text`` (ties: the order of
    ``ASKS``, most specific first); None for definitions, reasons and yes/no questions."""
    best: tuple[tuple[int, int], str] | None = None
    for rank, (name, pattern) in enumerate(ASKS):
        found = pattern.search(text)
        if found and (best is None or (found.start(), rank) < best[0]):
            best = ((found.start(), rank), name)
    return best[1] if best else None
