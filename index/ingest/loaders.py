"""Read one file into a title and raw text (cleaning happens in ``wenda.index.ingest.cleaning``).

``UnreadableDocumentError`` and ``decode_text`` are re-exported here for callers.

Every way a file can be unusable raises ``UnreadableDocumentError`` with a short reason,
so the corpus scan can log it once and carry on with the other files.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wenda.index.errors import UnreadableDocumentError
from wenda.index.ingest.cleaning import EXTRACTED, PARAGRAPHS, WRAPPED, clean_line, split_lines
from wenda.index.ingest.encoding import decode_text

__all__ = ["UnreadableDocumentError", "decode_text", "load_bytes", "load_file"]

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"})


@dataclass(frozen=True)
class LoadedText:
    """Raw text of one file; ``headings`` index lines of ``split_lines(text)``."""

    title: str
    text: str
    layout: str = EXTRACTED  # how far lines can be trusted; see wenda.index.ingest.cleaning
    headings: frozenset[int] = field(default_factory=frozenset)


class _Lines:
    """Collects output lines and remembers which ones the source marked as headings."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.headings: set[int] = set()

    def add(self, text: str, heading: bool = False) -> None:
        for line in split_lines(text):
            if heading and line.strip():
                self.headings.add(len(self.lines))
            self.lines.append(line)

    def result(self, title: str, layout: str) -> LoadedText:
        return LoadedText(title, "\n".join(self.lines), layout, frozenset(self.headings))


def load_file(path: Path, max_bytes: int) -> LoadedText:
    """Read ``path`` (size-checked before reading) and extract its text."""
    return load_bytes(path.name, read_bytes(path, max_bytes))


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The raw bytes of a supported file no larger than ``max_bytes``."""
    check_suffix(path.name)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UnreadableDocumentError(f"file too large: {size} > {max_bytes} bytes (文件过大)")
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableDocumentError(f"cannot read file: {exc.strerror} (无法读取)") from exc
    if len(data) > max_bytes:  # grew since stat
        raise UnreadableDocumentError(f"file too large: > {max_bytes} bytes (文件过大)")
    if not data.strip():
        raise UnreadableDocumentError("empty document (文档为空)")
    return data


def check_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = suffix or "none"
        raise UnreadableDocumentError(f"unsupported file type: {shown} (不支持的文件类型)")
    return suffix


def load_bytes(name: str, data: bytes) -> LoadedText:
    """Extract title and text from the bytes of a file called ``name``."""
    suffix = check_suffix(name)
    stem = Path(name).stem
    reader: Callable[[bytes, str], LoadedText] = _READERS[suffix]
    loaded = reader(data, stem)
    if not any(clean_line(line) for line in split_lines(loaded.text)):
        raise UnreadableDocumentError("empty document: no text extracted (文档为空)")
    title = clean_line(loaded.title) or stem
    return LoadedText(title, loaded.text, loaded.layout, loaded.headings)


# --- plain text and Markdown ---------------------------------------------------------


def _read_txt(data: bytes, stem: str) -> LoadedText:
    return LoadedText(stem, decode_text(data), EXTRACTED)


_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(?<![A-Za-z0-9])(\*\*|__|\*|~~|`)(?=\S)(.+?)(?<=\S)\1(?![A-Za-z0-9])")
_MD_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def _read_markdown(data: bytes, stem: str) -> LoadedText:
    out = _Lines()
    title = ""
    raw = split_lines(decode_text(data))
    in_fence = False
    for line in raw:
        if _MD_FENCE.match(line):
            in_fence = not in_fence
            out.add("")
            continue
        if in_fence:
            out.add(line)
            continue
        heading = _MD_HEADING.match(line)
        if heading:
            text = _md_inline(heading.group(2))
            title = title or (text if len(heading.group(1)) == 1 else "")
            out.add(text, heading=True)
        elif _MD_SETEXT.match(line) and out.lines and out.lines[-1].strip():
            if not title and line.strip().startswith("="):
                title = clean_line(out.lines[-1])
            out.headings.add(len(out.lines) - 1)  # underline style: previous line
            out.add("")
        else:
            out.add(_md_inline(re.sub(r"^\s{0,3}>\s?", "", line)))
    return out.result(title or stem, WRAPPED)


def _md_inline(text: str) -> str:
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    for _ in range(2):  # nested: **_x_**
        text = _MD_EMPHASIS.sub(r"\2", text)
    return text


# --- HTML ----------------------------------------------------------------------------

_DROP_TAGS = ("script", "style", "nav", "noscript", "template", "svg", "iframe", "head", "title")
_BLOCK_TAGS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "body", "caption", "dd", "details"),
        *("div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header"),
        *("hr", "li", "main", "ol", "p", "pre", "section", "summary", "table", "tbody"),
        *("thead", "tfoot", "tr", "ul"),
    }
)
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_CELL_TAGS = frozenset({"td", "th"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)
_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef])\s*\n\s*(?=[\u3000-\u9fff\uff00-\uffef])")


def _read_html(data: bytes, stem: str) -> LoadedText:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode_html(data), "html.parser")
    title = _tag_text(soup.find("title")) or _tag_text(soup.find("h1"))
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    out = _Lines()
    buffer: list[str] = []
    _walk_html(soup, out, buffer)
    _flush(out, buffer)
    return out.result(title or stem, PARAGRAPHS)


def _tag_text(tag: object) -> str:
    """Text of a tag with inline markup joined as a browser shows it ("共建<b>科创</b>")."""
    text = tag.get_text() if tag is not None else ""  # type: ignore[attr-defined]
    return " ".join(_CJK_GAP.sub("", text).split())


def _decode_html(data: bytes) -> str:
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        codec = declared.group(1).decode("ascii").lower()
        codec = "gb18030" if codec in {"gb2312", "gbk", "x-gbk", "gb_2312-80"} else codec
        try:
            return data.decode(codec)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(data)


def _walk_html(node: object, out: _Lines, buffer: list[str]) -> None:
    from bs4 import CData, NavigableString, Tag

    for child in getattr(node, "children", ()):
        if isinstance(child, NavigableString):
            if type(child) in (NavigableString, CData):  # not comments, doctypes, ...
                buffer.append(_CJK_GAP.sub("", str(child)))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name == "br":
            _flush(out, buffer)
        elif name in _HEADING_TAGS:
            _flush(out, buffer)
            out.add(_tag_text(child), heading=True)
        elif name == "pre":
            _flush(out, buffer)
            out.add(child.get_text())
        elif name in _CELL_TAGS:
            buffer.append(" ")
            _walk_html(child, out, buffer)
            buffer.append(" ")
        elif name in _BLOCK_TAGS:
            _flush(out, buffer)
            _walk_html(child, out, buffer)
            _flush(out, buffer)
        else:
            _walk_html(child, out, buffer)


def _flush(out: _Lines, buffer: list[str]) -> None:
    text = " ".join("".join(buffer).split())
    buffer.clear()
    if text:
        out.add(text)


# --- PDF -----------------------------------------------------------------------------


def _read_pdf(data: bytes, stem: str) -> LoadedText:
    from pypdf import PdfReader

    encrypted = False
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
        if encrypted and not reader.decrypt(""):  # many PDFs only lock permissions
            raise UnreadableDocumentError("encrypted PDF (PDF已加密)")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        title = str(meta.title or "") if meta else ""
    except UnreadableDocumentError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged input
        if encrypted:
            raise UnreadableDocumentError("encrypted PDF (PDF已加密)") from exc
        raise UnreadableDocumentError(f"corrupt PDF: {type(exc).__name__} (PDF损坏)") from exc
    title = re.sub(r"^Microsoft (Word|PowerPoint) - ", "", title).strip()
    return LoadedText(title or stem, "\n\n".join(pages), EXTRACTED)


# --- docx ----------------------------------------------------------------------------


def _read_docx(data: bytes, stem: str) -> LoadedText:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        title = document.core_properties.title or ""
        out = _Lines()
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                _docx_table(block, out)
            else:
                style = block.style.name if block.style is not None else ""
                out.add(block.text, heading=_is_heading_style(style))
    except Exception as exc:  # zipfile, lxml and python-docx errors on damaged input
        raise UnreadableDocumentError(f"corrupt docx: {type(exc).__name__} (docx损坏)") from exc
    return out.result(title or stem, PARAGRAPHS)


def _is_heading_style(name: str) -> bool:
    return name.lower().startswith(("heading", "title", "标题"))


def _docx_table(table: object, out: _Lines) -> None:
    """One line per row, cells separated by spaces; merged cells are reported once."""
    for row in table.rows:  # type: ignore[attr-defined]
        cells: list[str] = []
        seen: list[object] = []
        for cell in row.cells:
            if any(cell._tc is tc for tc in seen):
                continue
            seen.append(cell._tc)
            text = " ".join(cell.text.split())
            if text:
                cells.append(text)
        if cells:
            out.add(" ".join(cells))


_READERS: dict[str, Callable[[bytes, str], LoadedText]] = {
    ".txt": _read_txt,
    ".md": _read_markdown,
    ".markdown": _read_markdown,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}
