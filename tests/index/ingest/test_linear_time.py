"""Text cleaning and Markdown parsing stay linear on hostile input (issue 10 item 5).

No timing is asserted: the inputs are sized so the old quadratic/cubic code needs many
minutes to hours on them, and the pytest timeout fails such a run. A differential test
pins the linear Markdown functions to the regular expressions they replace.
"""

from __future__ import annotations

import random
import re

import pytest
from wenda.index.ingest.cleaning import EXTRACTED, WRAPPED, clean
from wenda.index.ingest.formats.html import join_cjk_lines
from wenda.index.ingest.loaders import load_bytes
from wenda.index.ingest.markdown_inline import atx_heading, strip_inline

OLD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
OLD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
OLD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
OLD_EMPHASIS = re.compile(r"(?<![A-Za-z0-9])(\*\*|__|\*|~~|`)(?=\S)(.+?)(?<=\S)\1(?![A-Za-z0-9])")


def _old_inline(text: str) -> str:
    text = OLD_LINK.sub(r"\1", OLD_IMAGE.sub(r"\1", text))
    for _ in range(2):
        text = OLD_EMPHASIS.sub(r"\2", text)
    return text


def test_linear_markdown_matches_the_old_patterns_on_random_lines() -> None:
    rng = random.Random(10)
    alphabet = list("*_~` a1[]()!#中\t")
    for _ in range(20_000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert strip_inline(line) == _old_inline(line), line
        old = OLD_HEADING.match(line)
        assert atx_heading(line) == (old and (len(old.group(1)), old.group(2))), line


def test_linear_markdown_on_ordinary_markdown() -> None:
    assert atx_heading("## 川渝合作 ##") == (2, "川渝合作")
    assert atx_heading("####### 七级") is None
    line = "见 ![图](a.png) 与 [报告](http://x) 中的 **重点** 和 `代码`"
    assert strip_inline(line) == "见 图 与 报告 中的 重点 和 代码"


@pytest.mark.timeout(120)
def test_hostile_markdown_file_loads() -> None:
    """96 KB of ``*a `` took 46 s; a heading with 20 KB of spaces would take hours."""
    hostile = "\n".join(
        [
            "# 标题",
            "*a " * 32_000,
            "# a" + " " * 20_000 + "b",
            "![" * 50_000,
            "[a" * 50_000,
            "**a " * 24_000,
            "正文。",
        ]
    )
    loaded = load_bytes("hostile.md", hostile.encode("utf-8"))
    assert loaded.title == "标题" and "正文。" in loaded.text


@pytest.mark.timeout(120)
@pytest.mark.parametrize("layout", [EXTRACTED, WRAPPED])
def test_clean_is_linear_on_adversarial_lines(layout: str) -> None:
    """Long runs of unpunctuated lines are joined into one paragraph: that was quadratic
    (20k lines took 32 s, so these 60k would take about 5 minutes)."""
    lines = 60_000
    raws = [
        "\n".join(["短行没有标点"] * lines),  # one paragraph of 100k fragments
        "\n".join(["记者 张三xyz"] * lines),  # credit-like lines, scanned at each join
        "\n".join(["1"] * lines),
        "*a " * 32_000,
        "交 " * 50_000,
    ]
    for raw in raws:
        text, _sections = clean(raw, layout=layout)
        assert text
    text, _ = clean(raws[0], layout=layout)
    assert text == "短行没有标点" * lines  # joined, nothing lost


OLD_CJK_GAP = re.compile(
    r"(?<=[\u3000-\u9fff\uff00-\uffef])\s*\n\s*(?=[\u3000-\u9fff\uff00-\uffef])"
)


def test_html_cjk_line_joining_matches_the_old_pattern() -> None:
    rng = random.Random(5)
    alphabet = ["中", "文", "a", " ", "\n", "\t", "，"]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        assert join_cjk_lines(text) == OLD_CJK_GAP.sub("", text), repr(text)


@pytest.mark.timeout(120)
def test_hostile_html_whitespace_loads() -> None:
    """400 KB of " \\n" after a CJK character took about 25 minutes with the old pattern."""
    html = "<p>中" + " \n" * 200_000 + "x</p><p>正文。</p>"
    loaded = load_bytes("hostile.html", html.encode("utf-8"))
    assert "正文。" in loaded.text
