"""PDF: the text layer page by page; pages without one (scans) are rendered and OCRed.

Pages are kept apart by ``PAGE_BREAK`` lines so citations can name their page. The
metadata title is used only when it is a real title: exporters write "untitled",
"Microsoft Word - 报告.docx" or the name of the HTML file a browser printed.
"""

from __future__ import annotations

import io
import logging
import re
from functools import partial
from typing import Any

from wenda.index.errors import UnreadableDocumentError
from wenda.index.ingest.cleaning import EXTRACTED
from wenda.index.ingest.formats.base import PAGE_BREAK, LoadedText, LoadOptions
from wenda.index.ingest.formats.image import to_ocr_input
from wenda.index.ingest.ocr import OcrCache

log = logging.getLogger("wenda.loaders")

MIN_TEXT_LAYER_CHARS = 20
"""A page whose text layer has fewer visible characters is OCRed (a scan may still carry a
page number or a stamp as text); the OCR text replaces the layer only if it is longer."""
RENDER_SCALE = 2.0  # 144 dpi: PP-OCR reads 10-point CJK print reliably from here

_OFFICE_PREFIX = re.compile(r"^Microsoft (Word|PowerPoint|Excel) - ", re.IGNORECASE)
_PLACEHOLDER = re.compile(
    r"^(untitled|untitled document|无标题|未命名|document\d*|文档\d*|presentation\d*|"
    r"slide \d+|new document|title|标题|pdf|print|打印)$",
    re.IGNORECASE,
)
_FILE_NAME = re.compile(
    r"\.(html?|pdf|docx?|xlsx?|pptx?|txt|md|rtf|odt|wps|jpe?g|png|tiff?|aspx?|php)$",
    re.IGNORECASE,
)


def read_pdf(data: bytes, stem: str, options: LoadOptions) -> LoadedText:
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
    pages, ocr = _ocr_thin_pages(data, pages, stem, options)
    title = meaningful_title(title)
    text = f"\n{PAGE_BREAK}\n".join(p.replace(PAGE_BREAK, "") for p in pages)
    return LoadedText(
        title or stem,
        text[: options.max_text_chars],
        EXTRACTED,
        paged=True,
        title_from_heading=not title,
        ocr=ocr,
    )


def meaningful_title(title: str) -> str:
    """The metadata title, or "" when it is a placeholder or a file name."""
    title = " ".join(title.split())
    title = _OFFICE_PREFIX.sub("", title).strip()
    if not title or _PLACEHOLDER.match(title) or _FILE_NAME.search(title):
        return ""
    if "/" in title or "\\" in title or not any(ch.isalnum() for ch in title):
        return ""  # a path, or only punctuation
    return title


def _visible(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def _ocr_thin_pages(
    data: bytes, pages: list[str], stem: str, options: LoadOptions
) -> tuple[list[str], bool]:
    """Replace pages with (almost) no text layer by their OCR text, up to the page limit."""
    thin = [i for i, text in enumerate(pages) if _visible(text) < MIN_TEXT_LAYER_CHARS]
    if not thin or options.ocr_max_pages <= 0:
        return pages, False
    if len(thin) > options.ocr_max_pages:
        log.warning(
            "%s: %d pages need OCR, only the first %d are read (WENDA_OCR_MAX_PAGES)",
            stem,
            len(thin),
            options.ocr_max_pages,
        )
        thin = thin[: options.ocr_max_pages]
    import pypdfium2 as pdfium

    cache = OcrCache(options.ocr_cache_dir, data)
    used = False
    try:
        document = pdfium.PdfDocument(data)
    except Exception as exc:  # pdfium cannot open what pypdf could: keep the text layer
        log.warning("%s: cannot render pages for OCR: %s", stem, exc)
        return pages, False
    try:
        out = list(pages)
        for n, index in enumerate(thin, 1):
            label = f"{stem} page {index + 1} ({n}/{len(thin)})"
            text = cache.page(index, partial(_render, document, index), label)
            if _visible(text) > _visible(out[index]):
                out[index] = text
                used = True
    finally:
        document.close()
        cache.save()
    return out, used


def _render(document: Any, index: int) -> Any:
    page = document[index]
    try:
        return to_ocr_input(page.render(scale=RENDER_SCALE).to_pil())
    finally:
        page.close()
