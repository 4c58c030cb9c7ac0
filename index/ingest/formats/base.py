"""What every format reader returns and receives: ``LoadedText`` and ``LoadOptions``.

Readers turn bytes into raw lines; cleaning, page mapping and chunking happen later
(``wenda.index.ingest.pages``). A reader raises ``UnreadableDocumentError`` for a file it
cannot use; any other exception is turned into one by the registry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from wenda.index.ingest.cleaning import EXTRACTED, split_lines

if TYPE_CHECKING:
    from wenda.index.settings import Settings

log = logging.getLogger("wenda.loaders")

PAGE_BREAK = "\U0010fffd"
"""Put alone on a line between the pages of a paged document; removed after cleaning."""


@dataclass(frozen=True)
class LoadOptions:
    """Limits and OCR set-up for reading one file (built once per build from Settings)."""

    max_text_chars: int = 10_000_000  # text kept from any one file; the rest is dropped
    max_unzipped_bytes: int = 256 * 1024 * 1024  # docx/xlsx/pptx: all members, uncompressed
    ocr_max_pages: int = 50  # pages (or images) OCRed per document; 0 turns OCR off
    ocr_cache_dir: Path | None = None  # OCR text by content sha256 (None: no cache)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoadOptions:
        return cls(
            max_text_chars=settings.max_text_chars,
            max_unzipped_bytes=settings.max_unzipped_bytes,
            ocr_max_pages=settings.ocr_max_pages,
            ocr_cache_dir=Path(settings.index_dir) / "ocr-cache",
        )


@dataclass(frozen=True)
class LoadedText:
    """Raw text of one file; ``headings`` index lines of ``split_lines(text)``.

    ``paged``: pages are separated by ``PAGE_BREAK`` lines (PDF). ``title_from_heading``:
    the format gave no trustworthy title, so the first heading is a better one than ``title``
    (the file name). ``ocr``: some of the text was recognised from images. ``tabular``:
    every line is a table row.
    """

    title: str
    text: str
    layout: str = EXTRACTED  # how far lines can be trusted; see wenda.index.ingest.cleaning
    headings: frozenset[int] = field(default_factory=frozenset)
    paged: bool = False
    title_from_heading: bool = False
    ocr: bool = False
    tabular: bool = False  # one table row per line: chunks break only between lines


class Lines:
    """Collects output lines, remembers source headings, stops at a character budget."""

    def __init__(self, max_chars: int = LoadOptions.max_text_chars) -> None:
        self.lines: list[str] = []
        self.headings: set[int] = set()
        self.chars = 0
        self.max_chars = max_chars

    @property
    def full(self) -> bool:
        """True once the budget is spent; readers stop extracting then."""
        return self.chars >= self.max_chars

    def add(self, text: str, heading: bool = False) -> None:
        if self.full:
            return
        for line in split_lines(text):
            if heading and line.strip():
                self.headings.add(len(self.lines))
            self.lines.append(line)
            self.chars += len(line) + 1

    def result(self, title: str, layout: str, **extra: bool) -> LoadedText:
        return LoadedText(title, "\n".join(self.lines), layout, frozenset(self.headings), **extra)
