"""The PDF page of a citation is shown where people read citations: CLI, bot, API JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wenda.bot.formatting import citation_html
from wenda.index.cli import main
from wenda.index.models import Passage

from tests.index.ingest.docmaker import text_pdf


def test_cli_ask_prints_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "报告.pdf").write_bytes(
        text_pdf(
            [
                [
                    "第一章概况",
                    "海棠湖位于德阳市旌阳区，水面面积约一百二十公顷，是市民休闲的去处。",
                ],
                ["景区自二〇二五年起实行预约入园，每日接待上限为八千人次，节假日另行公告。"],
            ],
            title="年度报告",
        )
    )
    monkeypatch.setenv("WENDA_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("WENDA_INDEX_DIR", str(tmp_path / "idx"))
    monkeypatch.setenv("WENDA_MODEL", "hashing")
    assert main(["ask", "景区每日接待上限是多少人次？", "--top-k", "1"]) == 0
    out = capsys.readouterr().out
    assert "[1] 年度报告 · 第一章概况 · 第2页 (报告.pdf" in out
    assert main(["ask", "景区每日接待上限是多少人次？", "--top-k", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["passages"][0]["page"] == 2


def test_bot_citation_shows_the_page() -> None:
    passage = Passage(
        1, "报告.pdf", "年度报告", "第一章", 0, 10, 1.0, "每日接待上限为八千人次。", page=7
    )
    assert "第7页" in citation_html(passage, 1, None)
    plain = Passage(1, "a.txt", "说明", "", 0, 10, 1.0, "正文。")
    assert "页" not in citation_html(plain, 1, None, snippet=False)
