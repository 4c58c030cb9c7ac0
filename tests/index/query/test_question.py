from __future__ import annotations

from pathlib import Path

import pytest
from wenda.index.query.question import expected_type, is_keyword_query, read_question
from wenda.index.squad import load_squad

SHARED_EVAL = Path(__file__).resolve().parents[4] / "shared" / "eval"


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("成渝中欧班列的票价是多少？", "money"),
        ("这座图书馆的面积有多大？", "area"),
        ("从成都到重庆要多长时间？", "duration"),
        ("第一届大会是哪一年举办的？", "date"),
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
