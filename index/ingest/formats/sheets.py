"""Spreadsheets (.xlsx, .csv): one line per row that repeats the column headers.

"城市：德阳；面积（平方公里）：5911。" lets a question about one cell find its row, and
the chunker packs whole rows (``LoadedText.tabular``), so a row is never cut in two.
Each sheet is a section titled by its name. openpyxl runs in read-only (streaming) mode.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence

from wenda.index.errors import UnreadableDocumentError
from wenda.index.ingest.cleaning import PARAGRAPHS
from wenda.index.ingest.encoding import decode_text
from wenda.index.ingest.formats.base import Lines, LoadedText, LoadOptions
from wenda.index.ingest.formats.zipguard import check_zip


def read_xlsx(data: bytes, stem: str, options: LoadOptions) -> LoadedText:
    from openpyxl import load_workbook

    check_zip(data, options.max_unzipped_bytes, "xlsx")
    out = Lines(options.max_text_chars)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            title = str(book.properties.title or "")
            for sheet in book.worksheets:
                if out.full:
                    break
                add_table(out, sheet.title, sheet.iter_rows(values_only=True))
        finally:
            book.close()
    except Exception as exc:  # zipfile, lxml and openpyxl errors on damaged input
        raise UnreadableDocumentError(f"corrupt xlsx: {type(exc).__name__} (xlsx损坏)") from exc
    return out.result(title or stem, PARAGRAPHS, tabular=True)


def read_csv(data: bytes, stem: str, options: LoadOptions) -> LoadedText:
    text = decode_text(data)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:8192], delimiters=",;\t|，"
        )
    except csv.Error:
        dialect = csv.excel
    out = Lines(options.max_text_chars)
    try:
        add_table(out, "", csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as exc:
        raise UnreadableDocumentError(f"corrupt csv: {exc} (csv损坏)") from exc
    return out.result(stem, PARAGRAPHS, tabular=True)


def add_table(out: Lines, name: str, rows: Iterable[Sequence[object]]) -> None:
    """The first non-empty row names the columns; every later row becomes one line."""
    headers: list[str] | None = None
    data_rows = 0
    for row in rows:
        if out.full:
            return
        cells = [cell_text(value) for value in row]
        if not any(cells):
            continue
        if headers is None:
            headers = cells
            if name:
                out.add(name, heading=True)
            continue
        line = row_text(headers, cells)
        if line:
            out.add(line)
            data_rows += 1
    if headers is not None and not data_rows:  # a header row alone is still content
        out.add("；".join(cell for cell in headers if cell) + "。")


def row_text(headers: Sequence[str], cells: Sequence[str]) -> str:
    parts = []
    for i, cell in enumerate(cells):
        if not cell:
            continue
        header = headers[i] if i < len(headers) and headers[i] else f"列{i + 1}"
        parts.append(f"{header}：{cell}")
    return "；".join(parts) + "。" if parts else ""


def cell_text(value: object) -> str:
    """A cell as people read it: 5911 not 5911.0, dates without midnight."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return " ".join(str(value).split())
