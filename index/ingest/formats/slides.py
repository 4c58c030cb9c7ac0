"""Slides (.pptx): one section per slide, titled by the slide title, with text and notes."""

from __future__ import annotations

import io
from typing import Any

from wenda.index.errors import UnreadableDocumentError
from wenda.index.ingest.cleaning import PARAGRAPHS
from wenda.index.ingest.formats.base import Lines, LoadedText, LoadOptions
from wenda.index.ingest.formats.sheets import add_table
from wenda.index.ingest.formats.zipguard import check_zip


def read_pptx(data: bytes, stem: str, options: LoadOptions) -> LoadedText:
    from pptx import Presentation

    check_zip(data, options.max_unzipped_bytes, "pptx")
    out = Lines(options.max_text_chars)
    try:
        deck = Presentation(io.BytesIO(data))
        title = str(deck.core_properties.title or "")
        for number, slide in enumerate(deck.slides, 1):
            if out.full:
                break
            _slide(slide, number, out)
    except Exception as exc:  # zipfile, lxml and python-pptx errors on damaged input
        raise UnreadableDocumentError(f"corrupt pptx: {type(exc).__name__} (pptx损坏)") from exc
    return out.result(title or stem, PARAGRAPHS)


def _slide(slide: Any, number: int, out: Lines) -> None:
    title_shape = slide.shapes.title
    heading = _text(title_shape) if title_shape is not None else ""
    out.add(heading or f"第{number}页", heading=True)
    title_id = title_shape.shape_id if title_shape is not None else None
    for shape in slide.shapes:
        if shape.shape_id != title_id:  # proxies are new objects on each access
            _shape(shape, out)
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            out.add(notes.text)


def _shape(shape: Any, out: Lines) -> None:
    if getattr(shape, "shapes", None) is not None:  # a group
        for inner in shape.shapes:
            _shape(inner, out)
    elif getattr(shape, "has_table", False) and shape.has_table:
        rows = ([cell.text for cell in row.cells] for row in shape.table.rows)
        add_table(out, "", rows)
    elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        for paragraph in shape.text_frame.paragraphs:
            text = "".join(run.text for run in paragraph.runs) or paragraph.text
            out.add(text)


def _text(shape: Any) -> str:
    return " ".join(shape.text_frame.text.split()) if shape.has_text_frame else ""
