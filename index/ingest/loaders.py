"""Read one file into a title and raw text (cleaning happens in ``wenda.index.ingest.cleaning``).

The formats live in ``wenda.index.ingest.formats`` (one module each, behind
``formats.registry``); this module is the entry point: size and type checks, the reader,
and the character normalization every format gets (``normalize.unify_cjk``).

Every way a file can be unusable raises ``UnreadableDocumentError`` with a short reason,
so the corpus scan can log it once and carry on with the other files.
"""

from __future__ import annotations

from pathlib import Path

from wenda.index.errors import UnreadableDocumentError
from wenda.index.ingest.cleaning import clean_line, split_lines
from wenda.index.ingest.encoding import decode_text
from wenda.index.ingest.formats.base import PAGE_BREAK, LoadedText, LoadOptions
from wenda.index.ingest.formats.registry import SUPPORTED_SUFFIXES, read
from wenda.index.ingest.normalize import unify_cjk

__all__ = [
    "SUPPORTED_SUFFIXES",
    "LoadOptions",
    "LoadedText",
    "UnreadableDocumentError",
    "check_suffix",
    "decode_text",
    "load_bytes",
    "load_file",
    "read_bytes",
]


def load_file(path: Path, max_bytes: int, options: LoadOptions | None = None) -> LoadedText:
    """Read ``path`` (size-checked before reading) and extract its text."""
    return load_bytes(path.name, read_bytes(path, max_bytes), options)


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


def load_bytes(name: str, data: bytes, options: LoadOptions | None = None) -> LoadedText:
    """Extract title and text from the bytes of a file called ``name``."""
    suffix = check_suffix(name)
    stem = Path(name).stem
    loaded = read(suffix, data, stem, options or LoadOptions())
    text = unify_cjk(loaded.text)
    if not any(clean_line(line) for line in split_lines(text.replace(PAGE_BREAK, ""))):
        raise UnreadableDocumentError("empty document: no text extracted (文档为空)")
    title = clean_line(unify_cjk(loaded.title)) or stem
    return LoadedText(
        title,
        text,
        loaded.layout,
        loaded.headings,
        paged=loaded.paged,
        title_from_heading=loaded.title_from_heading,
        ocr=loaded.ocr,
        tabular=loaded.tabular,
    )
