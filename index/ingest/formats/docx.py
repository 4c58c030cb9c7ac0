"""Word documents (.docx): paragraphs in order, heading styles, tables one row per line."""

from __future__ import annotations

import io
from typing import Any

from wenda.index.errors import UnreadableDocumentError
from wenda.index.ingest.cleaning import PARAGRAPHS
from wenda.index.ingest.formats.base import Lines, LoadedText, LoadOptions
from wenda.index.ingest.formats.zipguard import check_zip


def read_docx(data: bytes, stem: str, options: LoadOptions) -> LoadedText:
    import docx
    from docx.table import Table

    check_zip(data, options.max_unzipped_bytes, "docx")
    try:
        document = docx.Document(io.BytesIO(data))
        title = document.core_properties.title or ""
        out = Lines(options.max_text_chars)
        for block in document.iter_inner_content():
            if out.full:
                break
            if isinstance(block, Table):
                _table(block, out)
            else:
                style = block.style.name if block.style is not None else ""
                out.add(block.text, heading=_is_heading_style(style))
    except Exception as exc:  # zipfile, lxml and python-docx errors on damaged input
        raise UnreadableDocumentError(f"corrupt docx: {type(exc).__name__} (docx损坏)") from exc
    return out.result(title or stem, PARAGRAPHS)


def _is_heading_style(name: str) -> bool:
    return name.lower().startswith(("heading", "title", "标题"))


def _table(table: Any, out: Lines) -> None:
    """One line per row, cells separated by spaces; merged cells are reported once."""
    for row in table.rows:
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
