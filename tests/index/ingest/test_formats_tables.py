"""Spreadsheets and slides: rows repeat their headers, sheets and slides are sections."""

from __future__ import annotations

from wenda.index.ingest.chunking import chunk_document
from wenda.index.ingest.loaders import load_bytes
from wenda.index.ingest.pages import build_document

from tests.index.ingest.docmaker import pptx_bytes, xlsx_bytes

HEADERS = ["城市", "面积（平方公里）", "常住人口（万人）"]


def test_xlsx_rows_repeat_headers_and_sheets_are_sections() -> None:
    data = xlsx_bytes(
        {
            "四川": [HEADERS, ["德阳", 5911, 345.6], ["绵阳", 20248.4, None]],
            "重庆": [["区县", "GDP（亿元）"], ["渝北区", 2350]],
        }
    )
    doc = build_document("城市.xlsx", load_bytes("城市.xlsx", data), "h")
    assert doc.tabular and doc.pages == () and not doc.ocr
    assert "城市：德阳；面积（平方公里）：5911；常住人口（万人）：345.6。" in doc.text
    assert "城市：绵阳；面积（平方公里）：20248.4。" in doc.text  # empty cell left out
    assert "区县：渝北区；GDP（亿元）：2350。" in doc.text
    assert [s.title for s in doc.sections] == ["四川", "重庆"]
    chunks = chunk_document(doc)
    assert {c.section for c in chunks} == {"四川", "重庆"}
    assert all(c.page is None for c in chunks)


def test_large_sheet_is_chunked_by_whole_rows() -> None:
    rows = [[f"城市{i:03d}", 1000 + i, f"备注：第{i}行；含分号"] for i in range(200)]
    data = xlsx_bytes({"大表": [HEADERS, *rows]})
    doc = build_document("大表.xlsx", load_bytes("大表.xlsx", data), "h")
    chunks = chunk_document(doc, target_chars=220, max_chars=320)
    assert len(chunks) > 20
    row_lines = {line for line in doc.text.splitlines() if line.startswith("城市：")}
    for chunk in chunks:
        for line in filter(None, chunk.text.splitlines()):
            assert line == "大表" or line in row_lines, line  # never a piece of a row
    covered = {line for c in chunks for line in c.text.splitlines()}
    assert row_lines <= covered


def test_csv_with_gbk_bytes_and_sniffed_delimiter() -> None:
    text = "城市;面积（平方公里）\n德阳;5911\n成都;14335\n"
    loaded = load_bytes("面积.csv", text.encode("gb18030"))
    doc = build_document("面积.csv", loaded, "h")
    assert "城市：成都；面积（平方公里）：14335。" in doc.text and doc.title == "面积"


def test_header_only_table_is_still_content() -> None:
    doc = build_document("h.csv", load_bytes("h.csv", "城市,面积\n".encode()), "h")
    assert doc.text == "城市；面积。"


def test_pptx_one_section_per_slide_with_notes() -> None:
    data = pptx_bytes(
        [
            ("项目概况", ["海棠湖项目总投资12亿元。", "预计2027年完工。"], "资金来源为专项债券。"),
            ("开放安排", ["景区每天八点开放。"], ""),
        ]
    )
    doc = build_document("汇报.pptx", load_bytes("汇报.pptx", data), "h")
    assert [s.title for s in doc.sections] == ["项目概况", "开放安排"]
    first, second = doc.sections
    body = doc.text[first.start : first.end]
    assert "海棠湖项目总投资12亿元。" in body and "资金来源为专项债券。" in body
    assert doc.text.count("项目概况") == 1  # the title shape is not repeated as body text
    assert "景区每天八点开放。" in doc.text[second.start : second.end]
    chunks = chunk_document(doc)
    assert [c.section for c in chunks] == ["项目概况", "开放安排"]
