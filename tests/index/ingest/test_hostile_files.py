"""Hostile files are skipped with a reason, cheaply (issue 10 items 2 and 4)."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from wenda.index.errors import UnreadableDocumentError
from wenda.index.ingest.formats import registry
from wenda.index.ingest.loaders import LoadOptions, load_bytes

from tests.index.ingest.docmaker import xlsx_bytes, zip_bomb

GIB = 1 << 30


def test_html_nested_a_thousand_levels_deep_is_read() -> None:
    for tag in ("div", "b", "span"):
        html = (
            "<html><body>"
            + f"<{tag}>" * 1000
            + "深层正文。"
            + f"</{tag}>" * 1000
            + "</body></html>"
        )
        assert load_bytes("deep.html", html.encode()).text.strip() == "深层正文。"
    unclosed = "<p>" + "<div><table><tr><td>" * 3000 + "未闭合的正文。"
    assert "未闭合的正文。" in load_bytes("open.html", unclosed.encode()).text


def test_any_reader_exception_becomes_an_unreadable_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(data: bytes, stem: str, options: LoadOptions) -> object:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setitem(registry.READERS, ".html", explode)
    with pytest.raises(UnreadableDocumentError, match="RecursionError"):
        load_bytes("x.html", b"<p>x</p>")


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = zip_bomb("word/document.xml", GIB)
    assert len(data) < 2 * 1024 * 1024  # a ~1 MB file that inflates to 1 GiB
    return data


@pytest.mark.parametrize("suffix", [".docx", ".xlsx", ".pptx"])
def test_decompression_bomb_is_rejected_with_low_memory(bomb: bytes, suffix: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(UnreadableDocumentError, match="decompression bomb"):
            load_bytes(f"bomb{suffix}", bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024, peak


def test_member_that_lies_about_its_size_is_caught_while_inflating() -> None:
    liar = zip_bomb("word/document.xml", 300 << 20, declare=1000)  # claims 1 KB
    assert sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(liar)).infolist()) < 2000
    tracemalloc.start()
    try:
        with pytest.raises(UnreadableDocumentError, match="corrupt docx"):
            load_bytes("liar.docx", liar)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024, peak


def test_unzipped_limit_is_a_setting() -> None:
    data = xlsx_bytes({"表": [["城市", "面积"], ["德阳", 5911]]})
    assert "德阳" in load_bytes("a.xlsx", data).text
    with pytest.raises(UnreadableDocumentError, match="decompression bomb"):
        load_bytes("a.xlsx", data, LoadOptions(max_unzipped_bytes=2048))


def test_text_extracted_from_one_file_is_bounded() -> None:
    options = LoadOptions(max_text_chars=5000)
    assert len(load_bytes("big.txt", ("长文本。" * 10_000).encode(), options).text) == 5000
    html = "<html><body>" + "<p>段落内容。</p>" * 10_000 + "</body></html>"
    assert len(load_bytes("big.html", html.encode(), options).text) <= 5100
    rows = [["城市", "说明"], *[[f"城市{i}", "很长的说明文字" * 5] for i in range(5000)]]
    assert len(load_bytes("big.xlsx", xlsx_bytes({"表": rows}), options).text) <= 5200
