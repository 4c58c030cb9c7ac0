"""The kind of value a question asks for (金额, 面积, 日期, 人名…), found in a sentence.

Why: "票价是多少" is answered by a sentence with an amount of money, not by the sentence that
repeats the question's words. Patterns cover numbers with their units and dates; people,
places and organizations come from jieba's POS tags, computed once per passage text.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any

from wenda.index.query.question import ENTITY_TYPES

_CN = "〇零一二三四五六七八九十百千万萬亿億两兩廿卅"  # Chinese numerals (廿 20, 卅 30)
_NUM = rf"(?:\d[\d,.]*|[{_CN}]+)"
_ABOUT = "(?:多|余|餘)?"  # approximate: "5万余元", "300多米"
_MONEY = re.compile(
    rf"{_NUM}\s*{_ABOUT}[万萬亿億千百]?{_ABOUT}"
    r"(?:元|美元|港元|港幣|港币|欧元|歐元|日元|英镑|英鎊|台幣|台币|块|塊|马克|馬克)|"
    r"[万萬亿億]元|人民[币幣]"
)
_AREA = re.compile(r"平方(?:公里|千米|米|英里|英尺)|公[顷頃]|[亩畝]|km2|km²|m²|㎡|㎢")
_MEASURE = re.compile(
    rf"{_NUM}\s*{_ABOUT}[万萬千百]?{_ABOUT}(?:米|公尺|公分|厘米|毫米|公里|千米|英尺|英寸|英里|公斤|千克|克|吨|噸|磅|光年|海里|"
    r"m|cm|mm|km|kg|ft|㎝|㎜|㎞|㎏)"
)
_DURATION = re.compile(
    rf"[\d{_CN}几幾数數半多]+(?:多)?(?:年|个月|個月|天|周|週|星期|(?:个|個)?小[时時]|分[钟鐘]|秒|世[纪紀])"
)
_DATE = re.compile(
    rf"\d{{1,4}}年|[{_CN}]+年|\d{{1,2}}月|[{_CN}]+月|\d{{1,2}}[日号號]|初[一二三四五六七八九十]|"
    r"世[纪紀]|(?<=[\u4e00-\u9fff])[纪紀](?![念律录錄要委检檢实實行])|年代|[时時]代|期[间間]|公元|[朝代]|"
    r"今年|去年|明年|近年|当年|當年|同年|次年|翌年|[春夏秋冬]季|[时時]期"
)
_YEAR = re.compile(
    rf"\d{{1,4}}年(?!代|[级級])|[{_CN}]+年(?!代|[级級])|(?<!\d)\d{{4}}(?!\d)|公元|西元|"
    r"今年|去年|明年|前年|后年|後年|当年|當年|同年|次年|翌年"
)
_ORDINAL = re.compile(rf"第[\d{_CN}]+|首[个個位次届屆批]")
_COUNT = re.compile(  # not an ordinal: "第一个联调室" counts nothing
    rf"(?<![第\d])\d|(?<![第{_CN}])[{_CN}几幾数數]+[个個家项項人名座条條次件所种種位架辆輛部本首场場"
    r"支只隻头頭列艘户戶间間门門届屆批类類省倍处處区區国國册冊层層岁歲]|分之"
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
    "year": _YEAR,
    "date": _DATE,
    "ordinal": _ORDINAL,
    "count": _COUNT,
    "org": _ORG,
}
_POS_OF = {"person": ("nr",), "place": ("ns",), "org": ("nt",)}
_POS_LOCK = threading.Lock()
_POS: list[Any] = []  # one jieba.posseg tagger per process, sharing the loaded dictionary


def pos_tagger() -> Any:
    with _POS_LOCK:
        if not _POS:
            import jieba.posseg
            from wenda.index.store.lexical import _jieba_tokenizer

            _POS.append(jieba.posseg.POSTokenizer(_jieba_tokenizer()))
    return _POS[0]


@functools.lru_cache(maxsize=4096)
def _pos_words(text: str) -> tuple[tuple[str, str], ...]:
    """(word, POS flag) of a passage; cached because top passages repeat across questions."""
    return tuple((w, f) for w, f in pos_tagger().cut(text, HMM=False))


@functools.lru_cache(maxsize=4096)
def _entity_words(answer_type: str, passage_text: str) -> tuple[str, ...]:
    tags = _POS_OF[answer_type]
    return tuple(w for w, f in _pos_words(passage_text) if f.startswith(tags))


@functools.lru_cache(maxsize=16384)
def holds_type(answer_type: str, text: str, passage_text: str) -> bool:
    """Whether ``text`` (inside ``passage_text``) holds a value of ``answer_type``.

    Cached: every question of a type asks it of each candidate span of its passages, which
    repeat across questions (~10% of compose)."""
    if answer_type in ENTITY_TYPES and any(
        w in text for w in _entity_words(answer_type, passage_text)
    ):
        return True
    pattern = _PATTERNS.get(answer_type)
    return bool(pattern and pattern.search(text))
