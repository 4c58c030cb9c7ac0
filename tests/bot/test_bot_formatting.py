"""Formatting and splitting helpers: escaping, bold answer spans, the 4,096 limit."""

from __future__ import annotations

import re

import pytest
from wenda.bot.formatting import (
    EXAMPLE_QUESTION,
    NOT_FOUND,
    SNIPPET_CHARS,
    answer_html,
    answer_span,
    citation_html,
    format_answer,
    format_more,
    format_passage,
    help_html,
    report_html,
    snippet_html,
    status_html,
    tidy,
)
from wenda.bot.splitting import MAX_MESSAGE_CHARS, split_html, utf16_len
from wenda.index.models import Answer, BuildReport, DocumentInfo, IndexStatus, Passage

from tests.bot.bot_harness import TRICKY_TEXT, TRICKY_TITLE, tricky_passage
from tests.bot.bot_html_check import HtmlError, check_telegram_html

SENTENCE = "住院费用直接结算的定点医疗机构有 1.2 万家。"


def _answer(passages: list[Passage], answerable: bool = True, text: str = SENTENCE) -> Answer:
    return Answer("定点医疗机构有多少家？", answerable, f"{text}[1]", passages, "v1")


def _with_span(n: int = 1) -> Passage:
    at = TRICKY_TEXT.index(SENTENCE)
    return tricky_passage(n, n, answer_start=at, answer_end=at + len(SENTENCE))


def _visible(parts: list[str]) -> str:
    return "".join(check_telegram_html(p) for p in parts)


def test_tidy_puts_each_passage_on_one_line() -> None:
    assert (
        tidy("医保直接结算\n截至目前，\n\n 共 5182 家。\n")
        == "医保直接结算 截至目前， 共 5182 家。"
    )
    assert tidy("  hello\n  world  ") == "hello world"


def test_section_heading_is_not_repeated_in_the_snippet() -> None:
    text = "第<1>节 & 附则\n" + TRICKY_TEXT
    at = text.index(SENTENCE)
    passage = tricky_passage(1, 1, text=text, answer_start=at, answer_end=at + len(SENTENCE))
    html = citation_html(passage, 1, SENTENCE)
    assert html.count("第&lt;1&gt;节 &amp; 附则") == 1
    assert f"<b>{SENTENCE}</b>" in html
    full = format_passage(passage, 1, SENTENCE)[0]
    assert full.count("第&lt;1&gt;节 &amp; 附则") == 1 and f"<b>{SENTENCE}</b>" in full


def test_citation_escapes_document_text_and_bolds_the_answer() -> None:
    html = citation_html(_with_span(), 1, SENTENCE + "[1]")
    check_telegram_html(html)
    assert "&lt;b&gt;粗体&lt;/b&gt;" in html
    assert "&amp;" in html and "*" in html
    assert "《标记&lt;b&gt;与&amp;符号*测试》" in html
    assert "第&lt;1&gt;节 &amp; 附则" in html
    assert f"<b>{SENTENCE.replace(' ', '')}</b>" in html.replace(" ", "")


def test_answer_span_accepts_passage_or_document_offsets() -> None:
    relative = _with_span()
    assert relative.text[slice(*answer_span(relative, SENTENCE))] == SENTENCE
    at = TRICKY_TEXT.index(SENTENCE) + relative.start
    absolute = tricky_passage(1, 1, answer_start=at, answer_end=at + len(SENTENCE))
    assert absolute.text[slice(*answer_span(absolute, SENTENCE + "[1]"))] == SENTENCE
    searched = tricky_passage(1, 1)  # no offsets: found by text
    assert searched.text[slice(*answer_span(searched, SENTENCE))] == SENTENCE
    assert answer_span(tricky_passage(1, 1), "没有这句话") is None


def test_snippet_is_short_centered_and_marked_with_ellipses() -> None:
    text = "前文。" * 60 + "答案在这里。" + "后文，" * 60
    at = text.index("答案在这里。")
    html = snippet_html(text, (at, at + 6))
    visible = check_telegram_html(html)
    assert "<b>答案在这里。</b>" in html
    assert visible.startswith("…") and visible.endswith("…")
    assert 80 <= len(visible) <= SNIPPET_CHARS + 2
    assert visible[1:].startswith("前文。") or visible[1:].startswith("答案")  # sentence start


def test_snippet_of_a_huge_answer_is_truncated_inside_bold() -> None:
    text = "甲" * 1000
    html = snippet_html(text, (0, 1000))
    assert check_telegram_html(html) == "甲" * SNIPPET_CHARS + "…"
    assert html.startswith("<b>") and html.endswith("</b>…")


def test_answer_lists_the_first_three_citations_and_mentions_more() -> None:
    passages = [_with_span(n) for n in range(1, 6)]
    html = answer_html(_answer(passages))
    check_telegram_html(html)
    assert html.startswith("<b>答：</b>")
    assert "[1]</b>" in html and "[3]</b>" in html and "[4]</b>" not in html
    assert "还有 2 条来源" in html


def test_unanswerable_says_so_plainly_and_still_offers_passages() -> None:
    passages = [tricky_passage(n, n) for n in (1, 2)]
    html = answer_html(_answer(passages, answerable=False, text=NOT_FOUND))
    visible = check_telegram_html(html)
    assert visible.startswith(NOT_FOUND)
    assert "[1]" in visible and "[2]" in visible
    assert "答：" not in visible
    no_passages = answer_html(Answer("q", False, NOT_FOUND, [], "v1"))
    assert check_telegram_html(no_passages) == NOT_FOUND


def test_long_answer_is_split_into_valid_parts() -> None:
    long_text = ("这是一个很长的回答，包含<b>标签</b>和&符号。" * 60 + "\n") * 8
    answer = _answer([_with_span(n) for n in range(1, 4)], text=long_text)
    parts = format_answer(answer)
    assert len(parts) > 1
    for part in parts:
        assert utf16_len(part) <= MAX_MESSAGE_CHARS
        check_telegram_html(part)
    whole = check_telegram_html(answer_html(answer))
    assert re.sub(r"\s", "", _visible(parts)) == re.sub(r"\s", "", whole)


@pytest.mark.parametrize("limit", [50, 300, 4096])
def test_split_reopens_tags_and_never_cuts_entities(limit: int) -> None:
    html = "<b>" + "粗体&amp;&lt;x&gt;文字。" * 800 + "</b>\n\n<i>尾巴</i>"
    parts = split_html(html, limit)
    assert len(parts) > 1
    for part in parts:
        assert utf16_len(part) <= limit
        check_telegram_html(part)
    assert _visible(parts).replace("\n", "") == check_telegram_html(html).replace("\n", "")
    assert all(p.startswith("<b>") for p in parts[:-1])


def test_split_prefers_paragraph_breaks() -> None:
    paragraphs = ["第" + str(i) + "段" + "字" * 900 for i in range(10)]
    parts = split_html("\n\n".join(paragraphs), 4096)
    assert len(parts) == 3
    assert all(p.startswith("第") and p.endswith("字") for p in parts)


def test_split_counts_utf16_units() -> None:
    parts = split_html("😀" * 3000)  # 6,000 UTF-16 units
    assert len(parts) == 2
    assert all(utf16_len(p) <= MAX_MESSAGE_CHARS for p in parts)
    assert "".join(parts) == "😀" * 3000


def test_short_html_is_one_part_and_empty_is_none() -> None:
    assert split_html("<b>短</b>") == ["<b>短</b>"]
    assert split_html("  ") == []


def test_full_passage_of_a_very_long_chunk() -> None:
    body = ("很长的段落<b>不是标签</b>&符号*" * 400) + SENTENCE + "结尾。"
    at = body.index(SENTENCE)
    passage = tricky_passage(2, 2, text=body, answer_start=at, answer_end=at + len(SENTENCE))
    parts = format_passage(passage, 2, SENTENCE + "[2]")
    assert len(parts) > 1
    for part in parts:
        assert utf16_len(part) <= MAX_MESSAGE_CHARS
        check_telegram_html(part)
    joined = "".join(parts).replace(" ", "")
    assert f"<b>{SENTENCE.replace(' ', '')}</b>" in joined
    assert "&lt;b&gt;不是标签&lt;/b&gt;&amp;符号*" in parts[0]
    assert parts[0].startswith("<b>[2]</b> 《")


def test_more_sources_message() -> None:
    passages = [_with_span(n) for n in range(1, 6)]
    parts = format_more("问题<b>&", passages, 3, SENTENCE)
    visible = _visible(parts)
    assert "问题<b>&" in visible
    assert "[4]" in visible and "[5]" in visible and "[3]" not in visible
    assert "没有更多来源" in _visible(format_more("q", passages, 5, None))


def test_help_lists_escaped_titles_and_an_example() -> None:
    docs = [
        DocumentInfo("a.txt", TRICKY_TITLE, 1, "h", "2025-01-01T00:00:00Z", 10),
        DocumentInfo("b.txt", "川渝合作成效盘点", 1, "h", "2025-01-01T00:00:00Z", 10),
    ]
    parts = help_html(docs, "wenda_bot")
    visible = _visible(parts)
    assert TRICKY_TITLE in visible and "川渝合作成效盘点" in visible
    assert EXAMPLE_QUESTION in visible and "/ask" in visible and "@wenda_bot" in visible
    many = [DocumentInfo(f"{i}.txt", f"文档{i}", 1, "h", "", 1) for i in range(100)]
    assert "等共 100 篇" in _visible(help_html(many))


def test_status_and_report() -> None:
    status = check_telegram_html(status_html(IndexStatus("v<1>", 3, 42, "hashing", 256, "flat")))
    assert "文档：3" in status and "片段：42" in status and "v<1>" in status
    report = BuildReport("v2", added=["x"], changed=["y", "z"], chunks_embedded=5, published=True)
    text = check_telegram_html(report_html(report))
    assert "新增 1" in text and "修改 2" in text and "重新嵌入片段：5" in text


def test_html_checker_catches_what_telegram_rejects() -> None:
    for bad in ["a & b", "<b>x", "<b>x</i>", "x <b", "<p>x</p>", "&nbsp;"]:
        with pytest.raises(HtmlError):
            check_telegram_html(bad)


def test_refusal_shows_the_reason() -> None:
    reason = "资料中没有找到“票价”的相关内容。"
    answer = Answer("票价是多少？", False, NOT_FOUND, [tricky_passage(1, 1)], "v1", reason=reason)
    visible = check_telegram_html(answer_html(answer))
    assert visible.startswith(reason) and "最接近的段落" in visible
