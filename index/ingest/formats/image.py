"""Images (.png .jpg .jpeg .bmp .tif .tiff): the text is recognised by OCR."""

from __future__ import annotations

import io
import warnings

import numpy as np
from wenda.index.errors import UnreadableDocumentError
from wenda.index.ingest.cleaning import EXTRACTED
from wenda.index.ingest.formats.base import LoadedText, LoadOptions
from wenda.index.ingest.ocr import OcrCache

MAX_PIXELS = 60_000_000  # a 60-megapixel scan; larger images are decompression-bomb suspects
MAX_SIDE = 2400  # OCR input is scaled down to this; small print stays readable at 2400 px


def read_image(data: bytes, stem: str, options: LoadOptions) -> LoadedText:
    from PIL import Image

    if options.ocr_max_pages <= 0:
        raise UnreadableDocumentError("image needs OCR, which is off (WENDA_OCR_MAX_PAGES=0)")
    cache = OcrCache(options.ocr_cache_dir, data)
    pages: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            frames = getattr(image, "n_frames", 1)
            if image.width * image.height > MAX_PIXELS:
                raise UnreadableDocumentError(
                    f"image too large: {image.width}x{image.height} pixels (图片过大)"
                )
            count = min(frames, options.ocr_max_pages)
            for index in range(count):
                image.seek(index)
                label = f"{stem} image {index + 1}/{count}"
                pages.append(cache.page(index, lambda: to_ocr_input(image), label))
    except UnreadableDocumentError:
        raise
    except Exception as exc:  # PIL raises many types (and bomb warnings) on damaged input
        raise UnreadableDocumentError(f"corrupt image: {type(exc).__name__} (图片损坏)") from exc
    finally:
        cache.save()
    return LoadedText(stem, "\n\n".join(pages)[: options.max_text_chars], EXTRACTED, ocr=True)


def to_ocr_input(image: object) -> np.ndarray:
    """RGB array, scaled so its longer side is at most ``MAX_SIDE``."""
    rgb = image.convert("RGB")  # type: ignore[attr-defined]
    longest = max(rgb.size)
    if longest > MAX_SIDE:
        scale = MAX_SIDE / longest
        rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))))
    return np.asarray(rgb)
