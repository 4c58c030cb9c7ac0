"""Cleaning of PDF-extracted text: rejoined lines, headings as sections, whitespace."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from wenda.index.ingest.cleaning import EXTRACTED, PARAGRAPHS, WRAPPED, clean, join_fragments
from wenda.index.models import Section

REPO = Path(__file__).resolve().parents[3]
SEED_A = REPO / "corpus" / "川渝合作成效盘点.txt"
SEED_B = REPO / "corpus" / "推动成渝地区双城经济圈建设的N个第一次.txt"


@pytest.fixture(scope="module")
def seed_a() -> tuple[str, tuple[Section, ...]]:
    return clean(SEED_A.read_text("utf-8"))


@pytest.fixture(scope="module")
def seed_b() -> tuple[str, tuple[Section, ...]]:
    return clean(SEED_B.read_text("utf-8"))


def section_at(sections: tuple[Section, ...], offset: int) -> str:
    return next((s.title for s in sections if s.start <= offset < s.end), "")


def test_seed_words_and_numbers_broken_across_lines_are_rejoined(seed_a) -> None:
    raw = SEED_A.read_text("utf-8")
    assert "2020\n\n年7月" in raw and "科技创\n\n新中心" in raw and "110报警服\n\n务" in raw
    text, _ = seed_a
    for phrase in ("2020年7月", "科技创新中心", "110报警服务", "截至5月19日", "远程诊疗。"):
        assert phrase in text
    assert "“白名单”制度" in text  # a continuation that starts with a quote


def test_seed_headings_become_sections(seed_a) -> None:
    text, sections = seed_a
    titles = [s.title for s in sections]
    for title in ("共建科创中心", "推动毗邻合作", "医保直接结算", "两地联合执法", "11月4日"):
        assert title in titles
    assert section_at(sections, text.index("5182家")) == "医保直接结算"
    assert section_at(sections, text.index("110报警服务")) == "两地联合执法"
    # the heading is its own line, never glued into the following sentence
    assert "共建科创中心\n一年多来" in text
    assert "11月4日\n国家发展改革委正式批复成达万高铁可研报告。" in text


def test_sections_are_ordered_disjoint_and_start_with_their_heading(seed_a, seed_b) -> None:
    for text, sections in (seed_a, seed_b):
        assert sections
        for a, b in itertools.pairwise(sections):
            assert a.start < a.end <= b.start
        for s in sections:
            assert text[s.start : s.start + len(s.title)] == s.title
            assert s.end <= len(text)
            assert text[s.start - 1 : s.start] in ("", "\n")


def test_short_lines_in_narrow_columns_are_not_headings(seed_a) -> None:
    text, sections = seed_a
    titles = {s.title for s in sections}
    # a short line after a date heading continues the sentence below it
    assert "推动成渝地区双城经济圈建设联合办公室2021年第二次主任调度会在成都召开。" in text
    assert "推动成渝地区双城经济圈建设联合办公室" not in titles
    assert "资源来源：市发展改革委" not in titles  # last line: nothing beneath it


def test_multi_line_headings_of_narrow_columns(seed_b) -> None:
    text, sections = seed_b
    titles = [s.title for s in sections]
    assert "第一条省际公交线路" in titles
    assert "第一次实现川渝两地住房公积金“一地办”" in titles
    assert "第一个联合治安联调室、交通武装检查站" in titles
    # a heading directly above another heading ("第一阶段" over the first agreement)
    i = titles.index("第一阶段")
    assert titles[i + 1] == "第一个与四川非毗邻地级市签署的协议"
    assert section_at(sections, text.index("线路总长")) == "第一条省际公交线路"


def test_photo_credits_stay_but_end_the_caption(seed_a) -> None:
    text, _ = seed_a
    assert "记者 张锦辉 摄/视觉重庆" in text
    assert "视觉重庆2020" not in text
    assert "摄/视觉重庆\n\n2020年12月4日" in text


def test_letter_spaced_cjk_is_closed_up_but_credits_are_kept() -> None:
    raw = (
        "合江县白沙镇忠孝村成立川\n渝两地首个联合治安联\n调 室 、交 通 武 装 检 查\n站。\n"
        "首席记者 龙帆 摄/视觉重庆"
    )
    text, _ = clean(raw)
    assert "川渝两地首个联合治安联调室、交通武装检查站。" in text
    assert "首席记者 龙帆 摄/视觉重庆" in text


def test_join_spacing_rules() -> None:
    assert join_fragments("科技创", "新中心") == "科技创新中心"
    assert join_fragments("为此，2020", "年7月") == "为此，2020年7月"
    assert join_fragments("累计减少办理环节327", "个") == "累计减少办理环节327个"
    assert join_fragments("the PDF broke this", "line") == "the PDF broke this line"
    assert join_fragments("涉VOCs", "企业") == "涉VOCs企业"
    assert join_fragments("共计12", "34") == "共计1234"
    text, _ = clean("This is an English sentence that the PDF\nbroke in two.")
    assert text == "This is an English sentence that the PDF broke in two."


def test_paragraph_ends_at_terminal_punctuation_before_a_line_break() -> None:
    raw = "第一段的内容到此结束。\n第二段开始，但是被截\n\n断了。\n\n第三段。”\n第四段"
    text, sections = clean(raw)
    assert text == "第一段的内容到此结束。\n\n第二段开始，但是被截断了。\n\n第三段。”\n\n第四段"
    assert sections == ()


def test_whitespace_is_normalized_and_widths_are_kept() -> None:
    raw = (
        "\ufeff　　全角ＡＢＣ１２３，内容  有   空格。 \r\n\r\n\r\n\r\n"
        "\t第二段\u3000内容。\r下一行。  "
    )
    text, _ = clean(raw)
    assert text == "全角ＡＢＣ１２３，内容 有 空格。\n\n第二段 内容。\n\n下一行。"
    assert "\n\n\n" not in text and "\r" not in text
    assert all(line == line.strip() for line in text.split("\n"))


def test_list_items_are_not_joined() -> None:
    text, _ = clean("主要任务如下：\n1. 加强合作\n2. 共建平台\n（三）推动发展")
    assert text.split("\n\n") == ["主要任务如下：", "1. 加强合作", "2. 共建平台", "（三）推动发展"]


def test_explicit_headings_and_layouts() -> None:
    raw = "概述\n第一行没有句号\n第二行也没有\n\n另一段"
    text, sections = clean(raw, layout=PARAGRAPHS, headings={0})
    assert text == "概述\n第一行没有句号\n\n第二行也没有\n\n另一段"
    assert sections == (Section("概述", 0, len(text)),)

    text, _ = clean("被折行的段\n落继续\n\n下一段", layout=WRAPPED)
    assert text == "被折行的段落继续\n\n下一段"

    text, _ = clean("被折行的段\n落继续\n\n下一段", layout=EXTRACTED)
    assert text == "被折行的段落继续下一段"

    with pytest.raises(ValueError):
        clean("x", layout="bogus")


def test_heading_without_body_and_empty_input() -> None:
    assert clean("") == ("", ())
    assert clean(" \n\u3000\n") == ("", ())
    raw = "章节标题\n这是一段比标题长得多的正文内容，用来说明标题。\n\n另一个标题\n\n结尾"
    text, sections = clean(raw)
    # "另一个标题" has nothing beneath it that starts a paragraph, so it stays body text
    assert sections == (Section("章节标题", 0, len(text)),)
    assert text.endswith("另一个标题结尾")


def test_cleaning_is_deterministic() -> None:
    raw = SEED_B.read_text("utf-8")
    assert clean(raw) == clean(raw)
