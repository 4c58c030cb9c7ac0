"""Real documents made for the format tests: PNG and scanned PDF (rendered with a CJK font),
PDF with a text layer (fpdf2), xlsx (openpyxl), pptx (python-pptx), zip bombs."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # Debian fonts-droid-fallback
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


def cjk_font() -> Path:
    """A TrueType font with Chinese glyphs (CI installs fonts-droid-fallback, see .ci/run)."""
    for candidate in _FONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    if shutil.which("fc-match"):
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", ":lang=zh"], capture_output=True, text=True
        ).stdout.strip()
        if found.endswith(".ttf") and Path(found).is_file():
            return Path(found)
    pytest.fail("no CJK TrueType font: apt-get install fonts-droid-fallback")


def text_image(lines: list[str], size: int = 34):  # -> PIL.Image.Image
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(cjk_font()), size)
    width = max(60 + int(size * 1.05 * max(len(line) for line in lines)), 400)
    height = 60 + int(size * 1.9) * len(lines)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((30, 30 + i * int(size * 1.9)), line, fill="black", font=font)
    return image


def png_bytes(lines: list[str]) -> bytes:
    buffer = io.BytesIO()
    text_image(lines).save(buffer, format="PNG")
    return buffer.getvalue()


def scanned_pdf(pages: list[list[str]]) -> bytes:
    """An image-only PDF (no text layer), one rendered page per list of lines."""
    images = [text_image(lines) for lines in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, format="PDF", save_all=True, append_images=images[1:], resolution=72)
    return buffer.getvalue()


def text_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A PDF with a real (embedded-font) text layer, one page per list of lines."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("cjk", fname=str(cjk_font()))
    pdf.set_font("cjk", size=14)
    if title is not None:
        pdf.set_title(title)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            pdf.multi_cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def pptx_bytes(slides: list[tuple[str, list[str], str]]) -> bytes:
    """Slides of (title, body lines, notes)."""
    from pptx import Presentation

    deck = Presentation()
    layout = deck.slide_layouts[1]  # title and content
    for title, body, notes in slides:
        slide = deck.slides.add_slide(layout)
        slide.shapes.title.text = title
        slide.placeholders[1].text_frame.text = "\n".join(body)
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def zip_bomb(member: str, inflated: int, declare: int | None = None) -> bytes:
    """A zip whose ``member`` inflates to ``inflated`` zero bytes (about 1 MB per GiB).

    The deflate stream repeats one fully flushed 1 MiB block, so making it costs a CRC
    pass, not a compression pass. With ``declare`` both headers claim that size instead
    (a lying header).
    """
    block = b"\0" * (1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    count = inflated >> 20
    stream = piece * count + packer.flush()
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    size = count << 20 if declare is None else declare
    name = member.encode()
    head = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0, crc, len(stream), size)
    local = b"PK\x03\x04" + head + struct.pack("<HH", len(name), 0) + name
    central = (
        b"PK\x01\x02"
        + struct.pack("<H", 20)
        + head
        + struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, 0)
        + name
    )
    end = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(stream), 0
    )
    return local + stream + central + end
