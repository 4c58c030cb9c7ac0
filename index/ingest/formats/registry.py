"""Which reader handles which file suffix, and the one place reader failures are caught.

Every reader has the signature ``(data, stem, options) -> LoadedText``. Any exception a
reader lets escape (a RecursionError in a parser, a MemoryError, a library bug) becomes an
``UnreadableDocumentError`` naming its type, so one bad file never aborts a build.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from wenda.index.errors import UnreadableDocumentError
from wenda.index.ingest.formats.base import LoadedText, LoadOptions
from wenda.index.ingest.formats.docx import read_docx
from wenda.index.ingest.formats.html import read_html
from wenda.index.ingest.formats.image import read_image
from wenda.index.ingest.formats.pdf import read_pdf
from wenda.index.ingest.formats.sheets import read_csv, read_xlsx
from wenda.index.ingest.formats.slides import read_pptx
from wenda.index.ingest.formats.text import read_markdown, read_txt

Reader = Callable[[bytes, str, LoadOptions], LoadedText]

log = logging.getLogger("wenda.loaders")

READERS: dict[str, Reader] = {
    ".txt": read_txt,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".xlsx": read_xlsx,
    ".csv": read_csv,
    ".pptx": read_pptx,
    ".png": read_image,
    ".jpg": read_image,
    ".jpeg": read_image,
    ".bmp": read_image,
    ".tif": read_image,
    ".tiff": read_image,
}

SUPPORTED_SUFFIXES = frozenset(READERS)


def read(suffix: str, data: bytes, stem: str, options: LoadOptions) -> LoadedText:
    """Run the reader for ``suffix``; every failure is an ``UnreadableDocumentError``."""
    reader = READERS[suffix]
    try:
        return reader(data, stem, options)
    except UnreadableDocumentError:
        raise
    except Exception as exc:
        log.debug("%s reader failed on %s", suffix, stem, exc_info=True)
        kind = suffix.lstrip(".")
        raise UnreadableDocumentError(
            f"cannot read {kind}: {type(exc).__name__}: {str(exc)[:200]} (无法解析)"
        ) from exc
