from __future__ import annotations

from pathlib import Path

import pytest
from wenda.index.query.question import (
    expected_type,
    focus_terms,
    implied_question,
    is_keyword_query,
    read_question,
)
from wenda.index.squad import load_squad

SHARED_EVAL = Path(__file__).resolve().parents[4] / "shared" / "eval"


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("成渝中欧班列的票价是多少？", "money"),
        ("这座图书馆的面积有多大？", "area"),
        ("园区占地多少亩？", "area"),
        ("成达万高铁全长多少公里？", "measure"),  # a length, not a count of anything
        ("这座塔高多少米？", "measure"),
        ("从成都到重庆要多长时间？", "duration"),
        ("第一届大会是哪一年举办的？", "year"),  # a year: "11月4日" does not answer it
        ("這座橋是幾幾年建成的？", "year"),  # 幾幾年, colloquial "which year"
        ("这座桥是几几年建成的？", "year"),
        ("大会是什么时候举办的？", "date"),
        ("门诊慢特病跨省直接结算试点的是哪几种病？", None),  # which ones, not how many
        ("哪几个城市开通了直达航线？", "place"),
        ("有几种病可以跨省结算？", "count"),
        ("以什麼材料為主要結構的飛機，能夠有效降低雷達發現的距離？", None),  # not a distance
        ("麥高文有許多高明的決定，但是被誰所託累了？", "person"),  # 許多高 is no height
        ("哪一種人需要支付5西德馬克的費用？", "person"),  # not an amount of money
        ("认知主义在哪一个世纪成为心理学的统领范式？", "date"),
        ("开发者通常会在哪一阶段进行白盒测试？", None),  # a stage, not a place
        ("为什么天生三桥世界仅此一例？", None),
        ("科技专家库第一批交换共享了多少专家的信息？", "count"),
        ("万州新田港二期工程总投资是多少亿元？", "money"),
        ("几乎所有游客都去了哪里？", "place"),  # 几乎 asks no number
        ("这几个项目总投资多少？", "money"),
        ("川渝通办第二批有多少项", "count"),
        ("馆长是谁", "person"),
        ("該公司的總部位於哪裡？", "place"),  # traditional
        ("他畢業於哪所大學？", "org"),
        ("成渝地区双城经济圈是什么？", None),
    ],
)
def test_expected_answer_type(question: str, kind: str | None) -> None:
    assert expected_type(question) == kind


def test_keyword_versus_question() -> None:
    assert is_keyword_query("川渝")
    assert is_keyword_query("成渝地区双城经济圈")
    assert not is_keyword_query("川渝通办第二批有多少项")
    assert not is_keyword_query("介绍一下成渝地区双城经济圈")
    assert not is_keyword_query("成渝地区双城经济圈？")
    assert not is_keyword_query("中欧班列票价")  # an attribute named at the end asks it


@pytest.mark.parametrize(
    ("query", "implied", "kind"),
    [
        ("中欧班列票价", "中欧班列票价是多少？", "money"),
        ("川渝住院直接结算医院数量", "川渝住院直接结算医院数量是多少？", "count"),
        ("川渝高竹新区获批日期。", "川渝高竹新区获批日期是什么时候？", "date"),
        ("联合办公室地址", "联合办公室地址在哪里？", "place"),
        ("中欧班列票价是多少？", "中欧班列票价是多少？", "money"),  # asked already
        ("双城经济圈", "双城经济圈", None),
    ],
)
def test_an_attribute_named_at_the_end_is_read_as_its_question(
    query: str, implied: str, kind: str | None
) -> None:
    """ "中欧班列票价" was a keyword search; read as "……是多少？" it gets the money type and
    the focus 票价, so the focus rule can say the documents never give a fare."""
    assert implied_question(query) == implied
    q = read_question(query, ["中欧", "班列", "票价"], lambda t: 1.0, str)
    assert q.answer_type == kind and q.text == query


def test_how_many_said_as_a_noun_is_not_the_focus() -> None:
    """Answers give the number, not the word 数量: the focus is the thing counted."""
    terms = ["定点", "医疗机构", "数量"]
    assert focus_terms("定点医疗机构数量是多少？", terms) == ("医疗机构",)
    assert focus_terms("票价是多少？", ["票价"]) == ("票价",)


def test_numbers_and_ordinals_are_read() -> None:
    q = read_question(
        "第10条规定了什么？2022年呢", ["10", "条", "规定", "2022"], lambda t: 1.0, str
    )
    assert q.numbers == ("10", "2022")
    assert q.ordinals == (("10", "条"),)
    assert q.total_weight == 4.0


@pytest.mark.parametrize("name", ["cmrc2018_trial.json", "drcd_test.json"])
def test_real_questions_are_not_taken_for_keywords(name: str) -> None:
    """The keyword rule must not refuse real questions (CMRC, DRCD: under 1%)."""
    path = SHARED_EVAL / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    questions = [q.question for p in load_squad(path) for q in p.questions]
    flagged = [q for q in questions if is_keyword_query(q)]
    assert len(flagged) / len(questions) < 0.01, flagged[:10]


@pytest.mark.parametrize(
    ("question", "terms", "focus"),
    [
        ("川渝两地今年计划新建几座机场？", ["川", "渝", "计划", "新建", "几座", "机场"], ("机场",)),
        ("成渝中欧班列的票价是多少？", ["成渝", "中欧", "班列", "票价"], ("票价",)),
        ("海棠湖图书馆的馆长是谁？", ["海棠湖", "图书馆", "馆长"], ("馆长",)),
        # after 哪/什么 comes a category the answer instantiates without naming it: not 城市
        ("北碚区和四川哪个城市签了协议？", ["北碚区", "四川", "城市", "协议"], ("四川",)),
    ],
)
def test_focus_is_the_thing_asked_about(question: str, terms: list[str], focus: tuple) -> None:
    assert read_question(question, terms, lambda t: 1.0, str).focus == focus


def test_an_unseen_common_noun_focus_is_flagged_with_its_frequency() -> None:
    """Only a focus noun no document holds counts (its IDF is the unseen-term IDF)."""
    seen = {"川": 0.5, "计划": 2.0, "新建": 3.0}
    idf = lambda t: seen.get(t, 9.0)  # noqa: E731 (the index's unseen-term IDF is 9.0)
    terms = ["川", "计划", "新建", "几座", "机场"]
    q = read_question("川渝今年计划新建几座机场？", terms, idf, str)
    assert q.focus == ("机场",) and q.focus_unseen > 3.0  # 机场: a common dictionary noun
    seen["机场"] = 4.0
    assert read_question("川渝今年计划新建几座机场？", terms, idf, str).focus_unseen == 0.0
