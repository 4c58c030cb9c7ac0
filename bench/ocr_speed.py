"""OCR speed per page: scanned PDF pages and a PNG through the real loaders (no cache).

Why: OCR is by far the slowest way a document gets in (the README's formats table quotes
this figure), and it decides what ``WENDA_OCR_MAX_PAGES`` costs. Pages are rendered from
real Chinese text with a CJK font, about 30 lines of 35 characters each (a dense A4 page).

Run: ``.venv/bin/python bench/ocr_speed.py [--pages 3] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wenda.index.ingest.loaders import LoadOptions, load_bytes

from bench.common import log, md_table, write_report
from tests.index.ingest.docmaker import text_image

SENTENCE = "成渝地区双城经济圈建设持续推进，两地共同实施重大项目，合作成效不断显现。"


def page_lines(n: int, lines: int = 30) -> list[str]:
    text = (f"第{n}页：" + SENTENCE * 40)[: lines * 35]
    return [text[i : i + 35] for i in range(0, len(text), 35)]


def scanned(pages: int) -> bytes:
    images = [text_image(page_lines(n), size=22) for n in range(1, pages + 1)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="PDF", save_all=True, append_images=images[1:], resolution=72)
    return buffer.getvalue()


def png(lines: int) -> bytes:
    buffer = io.BytesIO()
    text_image(page_lines(1, lines), size=22).save(buffer, format="PNG")
    return buffer.getvalue()


def timed(name: str, data: bytes, pages: int) -> tuple[float, float, int]:
    """Wall seconds and CPU seconds (all threads of this process) per page, characters."""
    options = LoadOptions(ocr_cache_dir=None)
    t0, c0 = time.perf_counter(), time.process_time()
    loaded = load_bytes(name, data, options)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall / pages, cpu / pages, len("".join(loaded.text.split())) // pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    load_bytes("warm.png", png(2), LoadOptions())  # engine start-up is not a page's cost
    rows = []
    for label, name, data, pages in (
        ("scanned PDF page (144 dpi render)", "scan.pdf", scanned(args.pages), args.pages),
        ("PNG page", "page.png", png(30), 1),
        ("PNG notice (3 lines)", "notice.png", png(3), 1),
    ):
        log(f"ocr: {label}")
        wall, cpu, chars = timed(name, data, pages)
        rows.append([label, f"{wall:.1f}", f"{cpu:.1f}", chars])
    load = os.getloadavg()[0]
    text = "\n".join(
        [
            f"### OCR speed ({os.cpu_count()} cores, load average {load:.1f})",
            "",
            md_table(["input", "wall s/page", "CPU s/page", "characters read per page"], rows),
            "",
            "CPU seconds are summed over the OCR engine's threads; on an idle 2-core machine"
            " wall time is about CPU time / 2.",
        ]
    )
    write_report(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
