"""Plain text and Markdown."""

from __future__ import annotations

import re

from wenda.index.ingest.cleaning import EXTRACTED, WRAPPED, clean_line, split_lines
from wenda.index.ingest.encoding import decode_text
from wenda.index.ingest.formats.base import Lines, LoadedText, LoadOptions
from wenda.index.ingest.markdown_inline import atx_heading, strip_inline


def read_txt(data: bytes, stem: str, options: LoadOptions) -> LoadedText:
    return LoadedText(stem, decode_text(data)[: options.max_text_chars], EXTRACTED)


_MD_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_MD_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def read_markdown(data: bytes, stem: str, options: LoadOptions) -> LoadedText:
    out = Lines(options.max_text_chars)
    title = ""
    raw = split_lines(decode_text(data))
    in_fence = False
    for line in raw:
        if out.full:
            break
        if _MD_FENCE.match(line):
            in_fence = not in_fence
            out.add("")
            continue
        if in_fence:
            out.add(line)
            continue
        heading = atx_heading(line)  # linear time: the old regex was cubic on hostile lines
        if heading:
            text = strip_inline(heading[1])
            title = title or (text if heading[0] == 1 else "")
            out.add(text, heading=True)
        elif _MD_SETEXT.match(line) and out.lines and out.lines[-1].strip():
            if not title and line.strip().startswith("="):
                title = clean_line(out.lines[-1])
            out.headings.add(len(out.lines) - 1)  # underline style: previous line
            out.add("")
        else:
            out.add(strip_inline(re.sub(r"^\s{0,3}>\s?", "", line)))
    return out.result(title or stem, WRAPPED)
