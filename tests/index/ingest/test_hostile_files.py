"""Hostile files are skipped with a reason, cheaply (issue 10 items 2 and 4)."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from wenda.index.errors import UnreadableDocumentError
from wenda.index.ingest.formats import registry
from wenda.index.ingest.loaders import LoadOptions, load_bytes

from tests.index.ingest.docmaker import pptx_bytes, xlsx_bytes, zip_bomb

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


# --- XML attacks inside office files -----------------------------------------------------

LAUGHS = "".join(
    f'<!ENTITY lol{i} "' + (f"&lol{i - 1};" if i > 1 else "lol") * 10 + '">' for i in range(1, 10)
)  # &lol9; would expand to 10^9 characters


def _office(suffix: str) -> tuple[bytes, str, str]:
    """A small real file, the XML member that holds its text, and the tag to inject into."""
    if suffix == ".docx":
        import docx

        document = docx.Document()
        document.add_paragraph("重庆与成都的合作。")
        buffer = io.BytesIO()
        document.save(buffer)
        return buffer.getvalue(), "word/document.xml", "<w:t>"
    if suffix == ".pptx":
        return (
            pptx_bytes([("第一页", ["重庆与成都的合作。"], "")]),
            "ppt/slides/slide1.xml",
            "<a:t>",
        )
    return xlsx_bytes({"表1": [["城市"], ["重庆"]]}), "xl/worksheets/sheet1.xml", "<t>"


def _inject(data: bytes, member: str, doctype: str, tag: str, reference: str) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == member:
                xml = body.decode("utf-8")
                xml = xml[xml.index("?>") + 2 :] if xml.startswith("<?xml") else xml
                assert tag in xml, (member, xml[:300])
                xml = xml.replace(tag, tag + reference, 1)
                body = f'<?xml version="1.0" encoding="UTF-8"?>{doctype}{xml}'.encode()
            target.writestr(item, body)
    return out.getvalue()


@pytest.mark.parametrize("suffix", [".docx", ".xlsx", ".pptx"])
def test_xml_entity_bombs_and_external_entities_are_never_expanded(
    suffix: str, tmp_path: Path
) -> None:
    """Billion laughs (a 3 KB member naming 10^9 characters) and an external entity that
    points at a local file: each is refused as a damaged file or read without the entity,
    in little memory, and the local file's contents never reach the text."""
    data, member, tag = _office(suffix)
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-7f3a", "utf-8")
    attacks = {
        "laughs": (f"<!DOCTYPE r [{LAUGHS}]>", "&lol9;"),
        "external": (f'<!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>', "&x;"),
    }
    for name, (doctype, reference) in attacks.items():
        hostile = _inject(data, member, doctype, tag, reference)
        tracemalloc.start()
        try:
            try:
                text = load_bytes(f"{name}{suffix}", hostile).text
            except UnreadableDocumentError as exc:
                assert exc.reason, name
                text = ""
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert "lollol" not in text and "SECRET" not in text, (name, text[:200])
        assert peak < 64 * 1024 * 1024, (name, peak)
