"""Loaders on real files: encodings, HTML, Markdown, docx, PDF and every failure mode."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import docx
import pytest
from pypdf import PdfWriter
from wenda.index.errors import WendaError
from wenda.index.ingest.cleaning import EXTRACTED, PARAGRAPHS, WRAPPED, clean, split_lines
from wenda.index.ingest.loaders import UnreadableDocumentError, decode_text, load_file

MAX = 1_000_000


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A minimal valid PDF (Helvetica, ASCII text), one content stream per page."""
    n_pages = len(pages)
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [{}] /Count {} >>".format(
            " ".join(f"{4 + 2 * i} 0 R" for i in range(n_pages)), n_pages
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        ops = " ".join(f"({line}) Tj T*" for line in lines)
        stream = f"BT /F1 12 Tf 14 TL 72 720 Td {ops} ET"
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    if title is not None:
        objects.append(f"<< /Title ({title}) >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    info = f" /Info {len(objects)} 0 R" if title is not None else ""
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\n"
    out.write(f"{trailer}startxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def reason_of(path: Path, max_bytes: int = MAX) -> str:
    with pytest.raises(UnreadableDocumentError) as info:
        load_file(path, max_bytes)
    assert info.value.reason and info.value.message == info.value.reason
    return info.value.reason


def heading_lines(text: str, headings: frozenset[int]) -> list[str]:
    lines = split_lines(text)
    return [lines[i].strip() for i in sorted(headings)]


# --- text encodings --------------------------------------------------------------------


def test_utf8_with_and_without_bom(tmp_path: Path) -> None:
    plain = load_file(write(tmp_path / "plain.txt", "重庆与成都。"), MAX)
    bom = load_file(write(tmp_path / "bom.txt", b"\xef\xbb\xbf" + "重庆与成都。".encode()), MAX)
    assert plain.text == bom.text == "重庆与成都。"
    assert plain.title == "plain" and plain.layout == EXTRACTED


@pytest.mark.parametrize("codec", ["gbk", "gb18030", "gb2312"])
def test_short_gbk_family_text_is_decoded(tmp_path: Path, codec: str) -> None:
    samples = ("你好", "重庆", "中", "川渝合作成效盘点。", "四川参保人在重庆就医累计备案23.88万人")
    for text in samples:
        path = write(tmp_path / "gbk.txt", text.encode(codec))
        assert load_file(path, MAX).text == text


def test_gb18030_only_characters(tmp_path: Path) -> None:
    text = "生僻字𠀀与欧元€符号，以及ḿ。"
    path = write(tmp_path / "gb18030.txt", text.encode("gb18030"))
    assert load_file(path, MAX).text == text


def test_gb18030_text_with_little_han_decodes_without_a_damage_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Found by fuzzing: full-width digits, circled numbers or quotes in GB18030 score low
    on "common Han", so the decoder fell through to its repair path and warned "0
    undecodable byte sequence(s) replaced" for a file that had no damage at all."""
    for text in ("ＡＢＣ１２３", "①②③", "“你”", "Ａ。"):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert decode_text(text.encode("gb18030")) == text
        assert not caplog.records, caplog.text
    damaged = "重庆与成都的合作。".encode("gb18030") * 200
    damaged = damaged[:301] + b"\xff" + damaged[301:]
    with caplog.at_level(logging.WARNING):
        decode_text(damaged)
    assert "undecodable byte sequence(s) replaced" in caplog.text  # real damage still warns
    assert " 0 undecodable" not in caplog.text


def test_big5_and_utf16(tmp_path: Path) -> None:
    trad = "臺灣與香港的繁體中文，這是測試。"
    assert load_file(write(tmp_path / "big5.txt", trad.encode("big5")), MAX).text == trad
    assert load_file(write(tmp_path / "u16.txt", "文档".encode("utf-16")), MAX).text == "文档"


def test_decode_text_guesses_other_encodings() -> None:
    assert decode_text("Müller Straße café".encode("latin-1")) == "Müller Straße café"
    with pytest.raises(UnreadableDocumentError):
        decode_text(b"PK\x03\x04\x00\x00binary")


# --- Markdown and HTML -----------------------------------------------------------------


def test_markdown_title_headings_and_inline_markup(tmp_path: Path) -> None:
    md = (
        "# 川渝合作\n\n引言段落，被折\n行了。\n\n## 医保 *直接* 结算\n\n"
        "详见[国家平台](https://example.com)和**重点**内容。![图](a.png)\n\n"
        "```\ncode = 1\n```\n"
    )
    loaded = load_file(write(tmp_path / "doc.md", md), MAX)
    assert loaded.title == "川渝合作" and loaded.layout == WRAPPED
    assert heading_lines(loaded.text, loaded.headings) == ["川渝合作", "医保 直接 结算"]
    assert "#" not in loaded.text and "**" not in loaded.text and "](" not in loaded.text
    text, sections = clean(loaded.text, layout=loaded.layout, headings=loaded.headings)
    assert [s.title for s in sections] == ["川渝合作", "医保 直接 结算"]
    assert "引言段落，被折行了。" in text
    assert "详见国家平台和重点内容。图" in text


def test_markdown_without_heading_uses_file_stem(tmp_path: Path) -> None:
    loaded = load_file(write(tmp_path / "notes.markdown", "只是一些文字。\n"), MAX)
    assert loaded.title == "notes"


def test_html_structure_title_and_dropped_parts(tmp_path: Path) -> None:
    html = """<!doctype html><html><head><title>川渝 合作</title>
    <style>p { color: red }</style><script>var x = "不要";</script></head>
    <body><nav>首页 | 导航</nav>
    <h1>共建<em>科创</em>中心</h1>
    <p>一年多来，川渝两地<b>加强</b>资源共享。</p><div>第二块<br>换行后</div>
    <ul><li>项目一</li><li>项目二</li></ul>
    <table><tr><td>机构</td><td>5182家</td></tr></table>
    <!-- 注释 --></body></html>"""
    loaded = load_file(write(tmp_path / "page.html", html), MAX)
    assert loaded.title == "川渝 合作" and loaded.layout == PARAGRAPHS
    lines = [line for line in split_lines(loaded.text) if line.strip()]
    assert lines == [
        "共建科创中心",
        "一年多来，川渝两地加强资源共享。",
        "第二块",
        "换行后",
        "项目一",
        "项目二",
        "机构 5182家",
    ]
    assert heading_lines(loaded.text, loaded.headings) == ["共建科创中心"]


def test_html_title_falls_back_to_h1_and_declared_charset(tmp_path: Path) -> None:
    html = '<html><head><meta charset="gb2312"></head><body><h1>标题</h1><p>正文。</p></body>'
    loaded = load_file(write(tmp_path / "gbk.htm", html.encode("gbk")), MAX)
    assert loaded.title == "标题" and "正文。" in loaded.text


# --- docx -------------------------------------------------------------------------------


def test_docx_paragraphs_headings_tables_and_title(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "川渝合作成效"
    document.add_heading("医保直接结算", level=1)
    document.add_paragraph("截至目前，定点医疗机构5182家。")
    document.add_paragraph("一行没有句号")
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([["地区", "人数"], ["重庆", "23.88万人"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("表格之后的段落。")
    path = tmp_path / "report.docx"
    document.save(str(path))

    loaded = load_file(path, MAX)
    assert loaded.title == "川渝合作成效" and loaded.layout == PARAGRAPHS
    assert heading_lines(loaded.text, loaded.headings) == ["医保直接结算"]
    text, sections = clean(loaded.text, layout=loaded.layout, headings=loaded.headings)
    assert sections[0].title == "医保直接结算"
    assert "一行没有句号\n\n地区 人数\n\n重庆 23.88万人\n\n表格之后的段落。" in text


def test_docx_without_title_uses_stem(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("内容。")
    document.save(str(tmp_path / "无标题.docx"))
    assert load_file(tmp_path / "无标题.docx", MAX).title == "无标题"


# --- PDF --------------------------------------------------------------------------------


def test_pdf_pages_and_metadata_title(tmp_path: Path) -> None:
    data = make_pdf([["Chengdu and Chongqing", "signed 13 bus lines."], ["Page two text."]], "Bus")
    loaded = load_file(write(tmp_path / "bus.pdf", data), MAX)
    assert loaded.title == "Bus" and loaded.layout == EXTRACTED
    text, _ = clean(loaded.text)
    assert "Chengdu and Chongqing signed 13 bus lines." in text
    assert "Page two text." in text
    untitled = load_file(write(tmp_path / "untitled.pdf", make_pdf([["Hello."]])), MAX)
    assert untitled.title == "untitled"


def test_encrypted_pdf(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf([["Secret text."]])))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert "encrypted" in reason_of(write(tmp_path / "locked.pdf", buffer.getvalue()))


def test_pdf_locked_only_for_permissions_is_read(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf([["Open text."]])))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert "Open text." in load_file(write(tmp_path / "perm.pdf", buffer.getvalue()), MAX).text


def test_pdf_without_text_is_empty(tmp_path: Path) -> None:
    assert "empty" in reason_of(write(tmp_path / "scan.pdf", make_pdf([[]])))


# --- failures ---------------------------------------------------------------------------


def test_unreadable_files(tmp_path: Path) -> None:
    assert issubclass(UnreadableDocumentError, WendaError)
    assert "unsupported" in reason_of(write(tmp_path / "program.exe", b"MZ\x90\x00"))
    assert "corrupt image" in reason_of(write(tmp_path / "photo.jpg", b"\xff\xd8\xff"))
    assert "unsupported" in reason_of(write(tmp_path / "README", "text"))
    assert "binary" in reason_of(write(tmp_path / "bin.txt", b"abc\x00\x01\x02def"))
    assert "empty" in reason_of(write(tmp_path / "empty.txt", b""))
    assert "empty" in reason_of(write(tmp_path / "blank.md", " \n\u3000\n"))
    assert "empty" in reason_of(write(tmp_path / "blank.html", "<html><script>x</script></html>"))
    assert "too large" in reason_of(write(tmp_path / "big.txt", "大" * 100), max_bytes=50)
    assert "corrupt PDF" in reason_of(write(tmp_path / "bad.pdf", b"%PDF-1.4\nnot really a pdf"))
    assert "corrupt docx" in reason_of(write(tmp_path / "bad.docx", b"PK\x03\x04 broken zip"))
    assert "corrupt docx" in reason_of(write(tmp_path / "text.docx", "plain text, not a zip"))
    assert "cannot read" in reason_of(tmp_path / "missing.txt")
