"""Raw extracted text → clean text plus section spans.

PDF extraction of newspaper pages breaks lines at the column edge, in the middle of words
and numbers ("2020\\n\\n年7月"), sprinkles blank lines into paragraphs and leaves
stand-alone headings ("共建科创中心"). Retrieval and citations need whole sentences and
numbers, so lines are rejoined here, and headings are recorded as sections so the chunker
can keep them out of sentences. Every step is linear in the input (hostile files hold the
build lock): paragraphs are joined as lists of parts and only their tails are inspected.
Width forms are never changed (citations quote the original; ``wenda.index.ingest.normalize``
handles widths for matching).

Layouts (chosen by the loader):
- ``extracted`` (PDF, plain text): any line may be broken, blank lines are unreliable.
- ``wrapped`` (Markdown): lines are wrapped inside blank-line separated paragraphs.
- ``paragraphs`` (docx, HTML): every line is a real paragraph; nothing is joined.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from wenda.index.ingest.sentences import CLOSERS as _CLOSERS
from wenda.index.models import Section

EXTRACTED, WRAPPED, PARAGRAPHS = "extracted", "wrapped", "paragraphs"
LAYOUTS = (EXTRACTED, WRAPPED, PARAGRAPHS)

HEADING_MAX_WIDTH = 20.0  # display width (CJK = 1, ASCII = 0.5) of a heading line
HEADING_LONG_MAX_WIDTH = 30.0  # allowed when the next line is at least twice as wide
HEADING_MAX_LINES = 3
_TAIL_CHARS = 64  # longer than any paragraph-ending pattern (credit lines, closers)

_NEWLINES = re.compile(r"\r\n|[\r\n\f\v\x85\u2028\u2029]")
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_PARA_END = frozenset("。！？；…!?;.．｡")
_CLOSER_CHARS = "".join(_CLOSERS)
_NO_HEADING_PUNCT = frozenset("，,；;")
_CONTINUATION_START = frozenset("，,。．.、；;：:？?！!”’」』）)]】》〉〕…—")
_CREDIT = re.compile(r"\s摄(?:/\S{1,12})?$|(?:记者|通讯员|摄影|实习生)\s+\S{2,4}(?:/\S{1,12})?$")
_LIST_ITEM = re.compile(
    r"^(?:[-*+•·●○▪■◆]\s|\d{1,3}[.、)）](?!\d)|[（(][一二三四五六七八九十\d]{1,3}[)）]"
    r"|[一二三四五六七八九十]{1,3}、|第[一二三四五六七八九十百\d]+[章节条款部分篇]|\|)"
)


@dataclass
class _Line:
    text: str
    blank_before: bool
    group_start: bool  # first line of a run of lines without a blank line between them
    explicit: bool = False  # a heading marked by the source (Markdown '#', docx style, <h1>)
    heading: bool = False
    after_heading: bool = False  # follows a heading detected by the "wider next line" rule
    run: int = -1  # lines of one multi-line heading block share a run number


def split_lines(raw: str) -> list[str]:
    """Split on every newline convention (\\r\\n, \\r, form feed, U+2028...)."""
    return _NEWLINES.split(raw)


def clean_line(line: str) -> str:
    """Collapse runs of spaces (incl. the ideographic space), drop invisible characters."""
    line = _CONTROL.sub("", _INVISIBLE.sub("", line))
    line = _SPACES.sub(" ", line).strip()
    return _unspace_letterspaced(line)


def clean(
    raw: str, *, layout: str = EXTRACTED, headings: Collection[int] = ()
) -> tuple[str, tuple[Section, ...]]:
    """Return ``(clean_text, sections)`` for raw extracted text.

    ``headings`` are indices into ``split_lines(raw)`` of lines the source marked as
    headings. The heading text stays in ``clean_text`` on its own line and its section
    spans from the heading line to the end of the text beneath it.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}")
    lines = _read_lines(raw, set(headings))
    _mark_headings(lines, layout)
    blocks = _assemble(lines, layout)
    return _render(blocks)


def _read_lines(raw: str, explicit: set[int]) -> list[_Line]:
    lines: list[_Line] = []
    blank = True
    for index, physical in enumerate(split_lines(raw)):
        text = clean_line(physical)
        if not text:
            blank = True
            continue
        lines.append(_Line(text, blank_before=blank and bool(lines), group_start=blank))
        lines[-1].explicit = index in explicit
        blank = False
    return lines


def width(text: str) -> float:
    """Display width: CJK and full-width characters count 1, the rest 0.5."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.5 for ch in text)


def ends_paragraph(text: str) -> bool:
    """True when a line ends with terminal punctuation (optionally closed by quotes)."""
    return _ends_sentence(text[-_TAIL_CHARS:]) or _bracketed(text[:1], text[-1:])


def _ends_sentence(tail: str) -> bool:
    stripped = tail.rstrip(_CLOSER_CHARS)
    if stripped and stripped[-1] in _PARA_END:
        return True
    return bool(_CREDIT.search(tail))  # photo credit: "记者 张锦辉 摄/视觉重庆"


def _bracketed(first: str, last: str) -> bool:
    return first in "（(" and last in "）)"  # a fully bracketed note


def _heading_like(text: str) -> bool:
    """Shape test only: short, no sentence punctuation, some letters, not a credit line."""
    if width(text) > HEADING_LONG_MAX_WIDTH or ends_paragraph(text):
        return False
    if any(ch in _NO_HEADING_PUNCT for ch in text) or text[0] in _CONTINUATION_START:
        return False
    if text[-1] in '：:、—-(（“"':
        return False
    letters = sum(ch.isalpha() for ch in text)
    return letters >= 1 and (letters >= 2 or any("\u4e00" <= ch <= "\u9fff" for ch in text))


def _mark_headings(lines: list[_Line], layout: str) -> None:
    """Mark heading lines in place. Besides explicit headings there are two patterns:

    A: a line after a paragraph end whose next line (no blank between) is clearly wider,
       as in "共建科创中心\\n一年多来，……" and the chronicle dates "11月4日\\n国家……".
    B: a block of 1-3 short lines standing between blank lines, followed by a paragraph
       of several lines or by another heading, as in "第一条省际公交\\n线路\\n\\n成渝……".
    """
    for line in lines:
        line.heading = line.explicit
    for _pass in range(2):  # pass 2 lets a block heading sit right above another heading
        for i, line in enumerate(lines):
            if line.heading or line.after_heading or not _heading_like(line.text):
                continue
            prev_end = i == 0 or lines[i - 1].heading or ends_paragraph(lines[i - 1].text)
            if layout == PARAGRAPHS:
                prev_end = True
            if prev_end and _wider_next(lines, i):
                line.heading = True
                lines[i + 1].after_heading = True
                continue
            run = _block_heading_run(lines, i, prev_end)
            for k in range(i, i + run):
                lines[k].heading = True
                lines[k].run = i


def _wider_next(lines: list[_Line], i: int) -> bool:
    if i + 1 >= len(lines) or lines[i + 1].group_start:
        return False
    mine, nxt = width(lines[i].text), width(lines[i + 1].text)
    if mine <= HEADING_MAX_WIDTH and nxt >= max(mine + 3, 1.5 * mine):
        return True
    return nxt >= 2 * mine  # a long label above a much longer line


def _block_heading_run(lines: list[_Line], i: int, prev_end: bool, depth: int = 0) -> int:
    """Number of lines forming a stand-alone heading block at ``i`` (0 if none)."""
    if not (lines[i].group_start or prev_end) or not _heading_like(lines[i].text):
        return 0
    first = width(lines[i].text)
    if first > HEADING_MAX_WIDTH:
        return 0
    run = 1
    while (
        run < HEADING_MAX_LINES
        and i + run < len(lines)
        and not lines[i + run].group_start
        and _heading_like(lines[i + run].text)
        and width(lines[i + run].text) <= min(first + 2, HEADING_MAX_WIDTH)
    ):
        run += 1
    nxt = i + run
    if nxt >= len(lines) or not lines[nxt].group_start:
        return 0  # the block runs on into a paragraph
    if not prev_end and run < 2:
        return 0  # a single short fragment after an unfinished line is a continuation
    follower = lines[nxt]
    multi_line = nxt + 1 < len(lines) and not lines[nxt + 1].group_start
    if follower.heading or multi_line or width(follower.text) >= max(2 * first, 20):
        return run
    # "第一阶段" above "第一个……协议" above a paragraph: a heading over a heading
    if depth < 2 and _block_heading_run(lines, nxt, True, depth + 1):
        return run
    return 0


@dataclass
class _Block:
    """A paragraph or heading being assembled; parts are joined once, at render time."""

    parts: list[str]
    heading: bool
    run: int = -1
    tail: str = ""  # the last characters of the joined text, for ends_paragraph

    @classmethod
    def start(cls, line: _Line) -> _Block:
        return cls([line.text], line.heading, line.run, line.text[-_TAIL_CHARS:])

    def append(self, text: str) -> None:
        sep = fragment_separator(self.tail, text)
        self.parts += (sep, text) if sep else (text,)
        self.tail = (self.tail + sep + text)[-_TAIL_CHARS:]

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def ends_paragraph(self) -> bool:
        return _ends_sentence(self.tail) or _bracketed(self.parts[0][:1], self.tail[-1:])


def _assemble(lines: list[_Line], layout: str) -> list[_Block]:
    """Join body lines into paragraphs and heading runs into single heading lines."""
    blocks: list[_Block] = []
    for line in lines:
        prev = blocks[-1] if blocks else None
        if prev is not None and _joins(prev, line, layout):
            prev.append(line.text)
        else:
            blocks.append(_Block.start(line))
    return blocks


def _joins(prev: _Block, line: _Line, layout: str) -> bool:
    if prev.heading or line.heading:
        # the lines of one heading block ("第一条省际公交" + "线路") form one heading
        return prev.heading and line.heading and line.run >= 0 and prev.run == line.run
    if layout == PARAGRAPHS or (layout == WRAPPED and line.blank_before):
        return False
    return not (prev.ends_paragraph() or _LIST_ITEM.match(line.text))


def fragment_separator(left: str, right: str) -> str:
    """ " " between two ASCII words of a broken line, "" otherwise (CJK, numbers)."""
    a, b = left[-1], right[0]
    ascii_words = a.isascii() and b.isascii() and (a.isalnum() or a in ",;:)!?%") and b.isalnum()
    return " " if ascii_words and not (a.isdigit() and b.isdigit()) else ""


def join_fragments(left: str, right: str) -> str:
    """Join two pieces of a broken line: no space for CJK, one space between ASCII words."""
    return left + fragment_separator(left, right) + right


def _render(blocks: list[_Block]) -> tuple[str, tuple[Section, ...]]:
    parts: list[str] = []
    length = 0
    sections: list[Section] = []
    current: tuple[str, int] | None = None
    last_end = 0
    previous: _Block | None = None
    for block in blocks:
        if previous is not None:
            sep = "\n" if previous.heading and not block.heading else "\n\n"
            parts.append(sep)
            length += len(sep)
        if block.heading:
            if current is not None:
                sections.append(Section(current[0], current[1], last_end))
            current = (block.text, length)
        parts.append(block.text)
        length += len(block.text)
        last_end = length
        previous = block
    if current is not None:
        sections.append(Section(current[0], current[1], last_end))
    return "".join(parts), tuple(sections)


def _unspace_letterspaced(line: str) -> str:
    """Undo PDF letter-spacing ("交 通 武 装 检 查 站") without touching "记者 龙帆 摄".

    A run of at least three space-separated tokens of one or two characters, each with
    a CJK character and most of them single characters, is closed up.
    """
    if " " not in line:
        return line
    tokens = line.split(" ")
    out: list[str] = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and _tiny_cjk(tokens[j]):
            j += 1
        run = tokens[i:j]
        if len(run) >= 3 and sum(len(t) == 1 for t in run) * 2 >= len(run):
            out.append("".join(run))
            i = j
        else:
            out.append(tokens[i])
            i += 1
    return " ".join(out)


def _tiny_cjk(token: str) -> bool:
    return 1 <= len(token) <= 2 and any("\u4e00" <= ch <= "\u9fff" for ch in token)
