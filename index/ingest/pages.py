"""Clean a loaded file and keep track of where its pages start (PDF citations name pages).

The PDF reader separates pages with a ``PAGE_BREAK`` line. Cleaning runs over the whole
text, so a sentence broken across two pages is still rejoined; the markers come out of
the cleaned text afterwards, and their positions are the page starts. Section offsets are
shifted to the marker-free text.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from wenda.index.errors import UnreadableDocumentError
from wenda.index.ingest.cleaning import clean
from wenda.index.ingest.formats.base import PAGE_BREAK, LoadedText
from wenda.index.models import Document, Section

TITLE_HEADING_MAX_CHARS = 60  # a first heading longer than this is not a document title
TITLE_HEADING_WITHIN = 300  # ...nor one that starts this far into the text


@dataclass(frozen=True)
class CleanedText:
    title: str
    text: str
    sections: tuple[Section, ...]
    pages: tuple[int, ...]  # start offset of each page (empty when not paged)
    ocr: bool
    tabular: bool


def clean_document(loaded: LoadedText) -> CleanedText:
    """Cleaned text, sections, page starts and the best title of a loaded file."""
    text, sections = clean(loaded.text, layout=loaded.layout, headings=loaded.headings)
    pages: tuple[int, ...] = ()
    if loaded.paged:
        text, sections, starts = _remove_breaks(text, sections)
        pages = (0, *starts)
    title = loaded.title
    if loaded.title_from_heading and sections:
        first = min(sections, key=lambda s: s.start)
        heading = first.title.strip()
        if (
            heading
            and len(heading) <= TITLE_HEADING_MAX_CHARS
            and first.start < TITLE_HEADING_WITHIN
        ):
            title = heading
    return CleanedText(title, text, sections, pages, loaded.ocr, loaded.tabular)


def page_at(pages: tuple[int, ...], offset: int) -> int | None:
    """1-based page holding ``offset`` (the last page starting at or before it)."""
    if not pages:
        return None
    return max(1, bisect_right(pages, offset))


def _remove_breaks(
    text: str, sections: tuple[Section, ...]
) -> tuple[str, tuple[Section, ...], list[int]]:
    """Drop every marker (and the line break of a marker alone on its line)."""
    removed: list[int] = []  # offsets (in ``text``) of removed characters, ascending
    starts: list[int] = []
    out: list[str] = []
    pos = 0
    while (at := text.find(PAGE_BREAK, pos)) >= 0:
        out.append(text[pos:at])
        end = at + 1
        alone = (at == 0 or text[at - 1] == "\n") and (end >= len(text) or text[end] == "\n")
        drop = [at]
        if alone and end < len(text):
            drop.append(end)  # the marker's own line break
            end += 1
        removed.extend(drop)
        starts.append(at - (len(removed) - len(drop)))
        pos = end
    out.append(text[pos:])
    new_text = "".join(out)

    def shift(offset: int) -> int:
        return offset - bisect_left(removed, offset)

    new_sections = tuple(
        Section(s.title.replace(PAGE_BREAK, "").strip(), shift(s.start), shift(s.end))
        for s in sections
    )
    return new_text, new_sections, starts


def build_document(doc_id: str, loaded: LoadedText, content_hash: str) -> Document:
    """The ``Document`` of a loaded file: cleaned text, sections, pages, flags and title."""
    cleaned = clean_document(loaded)
    if not cleaned.text.strip():
        raise UnreadableDocumentError("empty document (文档为空)")
    return Document(
        doc_id=doc_id,
        title=cleaned.title,
        text=cleaned.text,
        sections=cleaned.sections,
        content_hash=content_hash,
        pages=cleaned.pages,
        ocr=cleaned.ocr,
        tabular=cleaned.tabular,
    )
