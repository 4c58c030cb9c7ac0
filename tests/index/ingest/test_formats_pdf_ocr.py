"""PDF pages and titles, and OCR of scans and images (real rendered files, real RapidOCR)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from wenda.index.errors import UnreadableDocumentError
from wenda.index.ingest.chunking import chunk_document
from wenda.index.ingest.formats.pdf import meaningful_title
from wenda.index.ingest.loaders import LoadOptions, load_bytes
from wenda.index.ingest.ocr import ENGINE_ID
from wenda.index.ingest.pages import build_document, page_at

from tests.index.ingest.docmaker import png_bytes, scanned_pdf, text_pdf

PAGE_ONE = [
    "海棠湖年度报告",
    "海棠湖位于德阳市旌阳区，水面面积约一百二十公顷，是市民休闲的主要去处。",
]
PAGE_TWO = ["景区自二〇二五年起实行预约入园，每日接待上限为八千人次，节假日另行公告。"]
PAGE_THREE = ["湖区周边共有停车位一千二百个，其中新能源充电车位三百个，按小时收费。"]


def test_multi_page_pdf_chunks_carry_their_page() -> None:
    data = text_pdf([PAGE_ONE, PAGE_TWO, PAGE_THREE], title="untitled")
    doc = build_document("report.pdf", load_bytes("report.pdf", data), "h")
    assert len(doc.pages) == 3 and doc.pages[0] == 0
    assert not doc.ocr  # every page has a good text layer
    assert doc.title == "海棠湖年度报告"  # "untitled" metadata → the first heading
    for number, line in enumerate([PAGE_ONE[1], PAGE_TWO[0], PAGE_THREE[0]], 1):
        at = doc.text.index(line[:12])
        assert page_at(doc.pages, at) == number
    chunks = chunk_document(doc, target_chars=40, max_chars=60, overlap_sentences=0)
    pages = {c.page for c in chunks}
    assert pages == {1, 2, 3}
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.page == page_at(doc.pages, chunk.start)
        assert page_at(doc.pages, chunk.end - 1) == chunk.page  # never runs onto the next page
    big = chunk_document(doc)  # default sizes: the whole text would fit in one chunk
    assert [c.page for c in big] == [1, 2, 3]


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ("海棠湖.html", ""),
        ("untitled", ""),
        ("Microsoft Word - 年度报告.docx", ""),
        ("Microsoft Word - 年度报告", "年度报告"),
        ("  ", ""),
        ("C:\\Users\\a\\报告", ""),
        ("德阳市海棠湖管理办法", "德阳市海棠湖管理办法"),
    ],
)
def test_meaningful_title(metadata: str, expected: str) -> None:
    assert meaningful_title(metadata) == expected


def test_pdf_with_real_metadata_title_keeps_it() -> None:
    data = text_pdf([PAGE_ONE], title="海棠湖管理办法")
    assert build_document("a.pdf", load_bytes("a.pdf", data), "h").title == "海棠湖管理办法"


def test_browser_printed_pdf_never_titled_by_a_file_name() -> None:
    data = text_pdf(
        [["正文第一句话没有标题，直接开始叙述海棠湖的历史沿革和发展变化。"]], "海棠湖.html"
    )
    doc = build_document("导出.pdf", load_bytes("导出.pdf", data), "h")
    assert doc.title == "导出"  # no heading: the PDF's own file name


@pytest.fixture(scope="module")
def scan() -> bytes:
    return scanned_pdf(
        [["海棠湖公告", "景区门票价格为每人八十元。"], ["第二页", "开放时间为早上八点至下午六点。"]]
    )


def test_scanned_pdf_is_ocred_page_by_page_and_cached(
    scan: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    options = LoadOptions(ocr_cache_dir=tmp_path / "ocr")
    with caplog.at_level(logging.INFO, logger="wenda.ocr"):
        doc = build_document("公告.pdf", load_bytes("公告.pdf", scan, options), "h")
    assert doc.ocr and len(doc.pages) == 2
    flat = doc.text.replace(" ", "")
    assert "门票价格为每人八十元" in flat and "开放时间为早上八点至下午六点" in flat
    assert page_at(doc.pages, doc.text.index("开放")) == 2
    assert doc.title == "海棠湖公告"
    progress = [r.getMessage() for r in caplog.records if r.name == "wenda.ocr"]
    assert any("page 1 (1/2)" in m for m in progress) and any("page 2 (2/2)" in m for m in progress)
    cached = json.loads(next((tmp_path / "ocr").glob("*.json")).read_text("utf-8"))
    assert cached["engine"] == ENGINE_ID and set(cached["pages"]) == {"0", "1"}

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="wenda.ocr"):
        again = build_document("改名.pdf", load_bytes("改名.pdf", scan, options), "h")
    assert again.text == doc.text
    assert all("cached" in r.getMessage() for r in caplog.records if r.name == "wenda.ocr")


def test_ocr_page_limit_and_off(scan: bytes, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        doc = build_document(
            "公告.pdf", load_bytes("公告.pdf", scan, LoadOptions(ocr_max_pages=1)), "h"
        )
    assert "八十元" in doc.text and "开放时间" not in doc.text.replace(" ", "")
    assert any("WENDA_OCR_MAX_PAGES" in r.getMessage() for r in caplog.records)
    with pytest.raises(UnreadableDocumentError, match="empty"):
        load_bytes("公告.pdf", scan, LoadOptions(ocr_max_pages=0))


def test_png_with_chinese_text_is_read_by_ocr(tmp_path: Path) -> None:
    data = png_bytes(["德阳市图书馆通知", "周一闭馆，其余时间九点开放。"])
    doc = build_document("通知.png", load_bytes("通知.png", data), "h")
    assert doc.ocr and doc.pages == ()
    flat = doc.text.replace(" ", "")
    assert "周一闭馆" in flat and "九点开放" in flat
    with pytest.raises(UnreadableDocumentError, match="OCR"):
        load_bytes("通知.png", data, LoadOptions(ocr_max_pages=0))
