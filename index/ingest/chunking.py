"""Pack sentences into retrievable chunks.

Chunks never cross a section boundary (a passage should be about one thing and carry one
section title) and never cut a sentence unless the sentence alone is too long, so a cited
passage reads as whole sentences. The first chunk of a section starts at its heading line
("11月4日\\n国家发展改革委……"), because the heading often carries the date or topic a
question asks about; the heading is its own line, never glued into a sentence.

Spreadsheet rows (``Document.tabular``) are packed as whole lines, so a row is never cut
in two. Each chunk of a PDF carries its page: a chunk also ends where a new page starts
on a new line, so a citation names the one page its passage is on (a sentence that runs
on over a page break stays whole).
"""

from __future__ import annotations

from wenda.index.ingest.pages import page_at
from wenda.index.ingest.sentences import split_sentences
from wenda.index.models import Chunk, Document

_SOFT_BREAKS = frozenset("，,、：:；; \t")
_SMALL_TAIL = 0.35  # fraction of target_chars under which new trailing text is merged back


def chunk_document(
    doc: Document, target_chars: int = 220, max_chars: int = 320, overlap_sentences: int = 1
) -> list[Chunk]:
    """Split ``doc.text`` into chunks of about ``target_chars`` (never over ``max_chars``).

    Consecutive chunks of one section share ``overlap_sentences`` sentences. Deterministic:
    the same document and sizes always give the same chunks.
    """
    if not 0 < target_chars <= max_chars:
        raise ValueError("need 0 < target_chars <= max_chars")
    if overlap_sentences < 0:
        raise ValueError("overlap_sentences must be >= 0")
    chunks: list[Chunk] = []
    for title, start, body_start, end in _page_pieces(doc, _regions(doc)):
        units = _units(doc.text, body_start, end, target_chars, max_chars, doc.tabular)
        if not units:
            continue  # a heading alone is not a chunk
        heading = (start, body_start) if body_start > start else None
        spans = _pack(units, heading, target_chars, max_chars, overlap_sentences)
        for span_start, span_end in spans:
            chunks.append(
                Chunk(
                    doc_id=doc.doc_id,
                    title=doc.title,
                    section=title,
                    start=span_start,
                    end=span_end,
                    text=doc.text[span_start:span_end],
                    page=page_at(doc.pages, span_start),
                )
            )
    return chunks


def _regions(doc: Document) -> list[tuple[str, int, int, int]]:
    """``(section title, start, body start, end)`` for every section and untitled gap."""
    regions: list[tuple[str, int, int, int]] = []
    pos = 0
    for section in sorted(doc.sections, key=lambda s: (s.start, s.end)):
        if section.start < pos:
            continue  # overlapping sections are not produced by cleaning; ignore extras
        if section.start > pos:
            regions.append(("", pos, pos, section.start))
        heading_end = section.start
        if doc.text.startswith(section.title, section.start) and section.title:
            heading_end = section.start + len(section.title)
        regions.append((section.title, section.start, heading_end, section.end))
        pos = section.end
    if pos < len(doc.text):
        regions.append(("", pos, pos, len(doc.text)))
    return regions


def _page_pieces(
    doc: Document, regions: list[tuple[str, int, int, int]]
) -> list[tuple[str, int, int, int]]:
    """Regions cut where a PDF page starts on a new line (the heading stays with piece 1)."""
    if len(doc.pages) < 2:
        return regions
    pieces: list[tuple[str, int, int, int]] = []
    for title, start, body_start, end in regions:
        cuts = [p for p in doc.pages[1:] if body_start < p < end and doc.text[p - 1] == "\n"]
        for cut in cuts:
            pieces.append((title, start, body_start, cut))
            start = body_start = cut
        pieces.append((title, start, body_start, end))
    return pieces


def _units(
    text: str, start: int, end: int, target: int, limit: int, whole_lines: bool = False
) -> list[tuple[int, int]]:
    """Sentence (or, for tables, line) spans; spans over ``limit`` cut to about ``target``."""
    units: list[tuple[int, int]] = []
    spans = _lines(text, start, end) if whole_lines else split_sentences(text, start, end)
    for s, e in spans:
        if e - s <= limit:
            units.append((s, e))
        else:
            units.extend(split_long(text, s, e, target, limit))
    return units


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Non-blank lines of ``text[start:end]`` without surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        stop = text.find("\n", pos, end)
        stop = end if stop < 0 else stop
        s, e = pos, stop
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            spans.append((s, e))
        pos = stop + 1
    return spans


def split_long(text: str, start: int, end: int, target: int, limit: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence at commas, 、 or spaces near ``target``; hard cut if none."""
    pieces: list[tuple[int, int]] = []
    pos = start
    while end - pos > limit:
        cut = _soft_cut(text, pos, min(pos + target, end), pos + target // 2)
        if cut is None:
            cut = _soft_cut(text, pos, pos + limit, pos + 1)
        if cut is None:
            cut = pos + limit
        piece_end = cut
        while piece_end > pos and text[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append((pos, piece_end))
        pos = cut
        while pos < end and text[pos].isspace():
            pos += 1
    if pos < end:
        pieces.append((pos, end))
    return pieces


def _soft_cut(text: str, start: int, stop: int, lowest: int) -> int | None:
    """Position just after the last soft break in ``text[lowest:stop]``, if any."""
    for i in range(stop - 1, max(lowest, start + 1) - 1, -1):
        if text[i] in _SOFT_BREAKS:
            return i + 1
    return None


def _pack(
    units: list[tuple[int, int]],
    heading: tuple[int, int] | None,
    target: int,
    limit: int,
    overlap: int,
) -> list[tuple[int, int]]:
    """Greedy packing of unit spans into chunk spans (see ``chunk_document``)."""
    spans: list[tuple[int, int]] = []
    fresh: list[int] = []  # characters of new (non-overlapping) text per chunk
    i = 0
    while i < len(units):
        start = units[i][0]
        if not spans and heading is not None and units[i][1] - heading[0] <= limit:
            start = heading[0]  # first chunk of a section carries its heading line
        j = i + 1
        while j < len(units) and units[j - 1][1] - start < target and units[j][1] - start <= limit:
            j += 1
        first_new = units[i][0] if not spans else max(units[i][0], spans[-1][1])
        spans.append((start, units[j - 1][1]))
        fresh.append(units[j - 1][1] - first_new)
        if j >= len(units):
            break
        nxt = max(j - overlap, i + 1)
        while nxt < j and units[j][1] - units[nxt][0] > limit:
            nxt += 1  # the overlap would leave no room for the next sentence
        i = nxt
    if len(spans) > 1 and fresh[-1] < _SMALL_TAIL * target and spans[-1][1] - spans[-2][0] <= limit:
        last = spans.pop()
        spans[-1] = (spans[-1][0], last[1])
    return spans
