"""OCR of page images with RapidOCR (PP-OCR Chinese models shipped in its wheel, offline).

OCR costs about a second per page on this machine, so results are cached by the sha256 of
the file they came from: a full rebuild, or a file touched but not changed, reuses them.
The engine is created on first use (once per process) and serialised by a lock, because
one engine already uses every core.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("wenda.ocr")

ENGINE_ID = "rapidocr-onnxruntime-1.4.4-ppocrv4"
"""Part of every cache entry: a different engine must not reuse old results."""

_ENGINE_LOCK = threading.Lock()
_ENGINE: list[Any] = []


def _engine() -> Any:
    if not _ENGINE:
        from rapidocr_onnxruntime import RapidOCR

        logging.getLogger("RapidOCR").setLevel(logging.WARNING)
        _ENGINE.append(RapidOCR())
    return _ENGINE[0]


def recognize(image: np.ndarray) -> str:
    """Text of an RGB image, one line per visual line, top to bottom."""
    with _ENGINE_LOCK:
        result, _ = _engine()(image)
    return _reading_order(result or [])


def _reading_order(result: list[Any]) -> str:
    """Group detected boxes into lines (by vertical overlap) and read them left to right."""
    boxes = []
    for box, text, _score in result:
        ys = [p[1] for p in box]
        xs = [p[0] for p in box]
        boxes.append((min(ys), max(ys), min(xs), str(text)))
    boxes.sort()
    lines: list[list[tuple[float, float, float, str]]] = []
    for box in boxes:
        if lines:
            top, bottom = lines[-1][0][0], lines[-1][0][1]
            if box[0] < (top + bottom) / 2:  # starts above the middle of the current line
                lines[-1].append(box)
                continue
        lines.append([box])
    return "\n".join(" ".join(b[3] for b in sorted(line, key=lambda b: b[2])) for line in lines)


class OcrCache:
    """Recognised text per page, stored as one JSON file per content hash."""

    def __init__(self, directory: Path | None, data: bytes) -> None:
        self.path = None
        if directory is not None:
            digest = hashlib.sha256(data).hexdigest()
            self.path = Path(directory) / f"{digest}.json"
        self._pages: dict[str, str] = self._read()
        self._dirty = False

    def _read(self) -> dict[str, str]:
        if self.path is None or not self.path.is_file():
            return {}
        try:
            payload = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(payload, dict) or payload.get("engine") != ENGINE_ID:
            return {}
        pages = payload.get("pages")
        return {str(k): str(v) for k, v in pages.items()} if isinstance(pages, dict) else {}

    def page(self, index: int, render: Callable[[], np.ndarray], label: str) -> str:
        """Cached text of page ``index``, else render it, OCR it and remember the text."""
        key = str(index)
        if key in self._pages:
            log.info("OCR %s: cached", label)
            return self._pages[key]
        log.info("OCR %s ...", label)
        text = recognize(render())
        self._pages[key] = text
        self._dirty = True
        return text

    def save(self) -> None:
        """Write new results (atomically); a cache that cannot be written only costs time."""
        if self.path is None or not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            payload = {"engine": ENGINE_ID, "pages": self._pages}
            tmp.write_text(json.dumps(payload, ensure_ascii=False), "utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("could not write OCR cache %s: %s", self.path, exc)
