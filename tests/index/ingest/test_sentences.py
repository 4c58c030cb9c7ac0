"""Sentence spans: Chinese and Western terminals, quotes, ellipses, decimals, offsets."""

from __future__ import annotations

import itertools

from wenda.index.ingest.sentences import split_sentences


def texts(text: str, start: int = 0, end: int | None = None) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text, start, end)]


def test_chinese_terminals() -> None:
    assert texts("今天下雨。明天晴！后天呢？还有；最后一句") == [
        "今天下雨。",
        "明天晴！",
        "后天呢？",
        "还有；",
        "最后一句",
    ]


def test_closing_quotes_and_brackets_stay_with_their_sentence() -> None:
    assert texts("他说：“我们走吧。”然后离开了。") == ["他说：“我们走吧。”", "然后离开了。"]
    expected = ["（见附件。）", "下一句。", "「好！」』", "结束"]
    assert texts("（见附件。）下一句。「好！」』结束") == expected
    assert texts('He said "stop." Then left.') == ['He said "stop."', "Then left."]


def test_ellipsis_and_runs_of_terminals() -> None:
    assert texts("他想了想……没有说话。") == ["他想了想……", "没有说话。"]
    assert texts("真的吗？！太好了…”好。") == ["真的吗？！", "太好了…”", "好。"]
    assert texts("Wait... what?! Yes.") == ["Wait...", "what?!", "Yes."]


def test_decimals_and_numbers_are_not_split() -> None:
    text = "增长3.14%，达到1.5万人。共计11.54万人次。"
    assert texts(text) == ["增长3.14%，达到1.5万人。", "共计11.54万人次。"]
    assert texts("Pi is 3.14. Next one.") == ["Pi is 3.14.", "Next one."]
    assert texts("版本1.2.3已发布") == ["版本1.2.3已发布"]
    assert texts("全角１．５万") == ["全角１．５万"]


def test_ascii_terminals_inside_words_do_not_split() -> None:
    assert texts("see example.com/?a=b;c=d now") == ["see example.com/?a=b;c=d now"]
    assert texts("好!我们走;你呢?好") == ["好!", "我们走;", "你呢?", "好"]


def test_line_breaks_end_sentences_and_whitespace_is_excluded() -> None:
    text = "  共建科创中心 \n一年多来，两地加强合作。  同时，共建中心 \n\n  此外"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "共建科创中心",
        "一年多来，两地加强合作。",
        "同时，共建中心",
        "此外",
    ]
    for s, e in spans:
        assert not text[s].isspace() and not text[e - 1].isspace()


def test_offsets_are_absolute_with_start_and_end() -> None:
    text = "第一句。第二句。第三句。第四句。"
    spans = split_sentences(text, 4, 12)
    assert spans == [(4, 8), (8, 12)]
    assert [text[s:e] for s, e in spans] == ["第二句。", "第三句。"]
    assert split_sentences(text, 0, 2) == [(0, 2)]
    assert split_sentences(text, 10, 10) == []
    assert split_sentences("", 0) == []


def test_long_sentence_is_not_split_here() -> None:
    long = "很长的句子，" * 200 + "结束。"
    assert split_sentences(long) == [(0, len(long))]


def test_spans_are_ordered_and_disjoint() -> None:
    text = "甲。乙！丙？“丁。”戊……己;庚. 辛\n壬"
    spans = split_sentences(text)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert "".join(text[s:e] for s, e in spans) == text.replace(" ", "").replace("\n", "")
