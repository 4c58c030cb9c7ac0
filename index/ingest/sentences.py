"""Sentence spans for Chinese and Western text.

Chunks are packed from sentences, so a span must never cut a number ("3.14", "1.5万") or
leave a closing quote behind ("……”" belongs to the sentence it closes). Spans are offsets
into the text, not copies, because chunk offsets must point into ``Document.text``.
"""

from __future__ import annotations

# Always end a sentence (full-width forms and the CJK ellipsis).
_CJK_TERMINALS = frozenset("。！？；…｡")
# End a sentence only when not followed by an ASCII letter or digit ("?a=1", "x;y").
_ASCII_TERMINALS = frozenset("!?;")
# End a sentence only before whitespace or the end of the text, never between digits.
_DOTS = frozenset(".．")
_TERMINALS = _CJK_TERMINALS | _ASCII_TERMINALS | _DOTS
# Closing marks that stay with the sentence they close: 。” ！） ?" …』
CLOSERS = frozenset("”’」』）)]】》〉〕\"'")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Return ``(start, end)`` spans of the sentences in ``text[start:end]``.

    A line break always ends a sentence (paragraphs and headings are one line each after
    cleaning). Spans exclude surrounding whitespace; over-long sentences are left whole
    for the chunker to split.
    """
    stop = len(text) if end is None else min(end, len(text))
    spans: list[tuple[int, int]] = []
    pos = max(start, 0)
    while pos < stop:
        newline = text.find("\n", pos, stop)
        line_end = stop if newline < 0 else newline
        spans.extend(_split_line(text, pos, line_end))
        pos = line_end + 1
    return spans


def _split_line(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    sent_start = start
    i = start
    while i < end:
        ch = text[i]
        if ch not in _TERMINALS:
            i += 1
            continue
        j = i
        while j < end and text[j] in _TERMINALS:  # "？！", "……", "..."
            j += 1
        while j < end and text[j] in CLOSERS:
            j += 1
        if _ends_sentence(text, i, j, end):
            _add(spans, text, sent_start, j)
            sent_start = j
        i = j
    _add(spans, text, sent_start, end)
    return spans


def _ends_sentence(text: str, first: int, after: int, end: int) -> bool:
    """Decide whether the terminal run ``text[first:after]`` closes a sentence."""
    run = text[first:after]
    if any(ch in _CJK_TERMINALS for ch in run):
        return True
    nxt = text[after] if after < end else ""
    if any(ch in _ASCII_TERMINALS for ch in run):
        return not (nxt.isascii() and nxt.isalnum())
    # Only dots: "3.14" and "1.5万" stay whole; "end. Next" and "end." at the end split.
    prev = text[first - 1] if first > 0 else ""
    if prev.isdigit() and nxt.isdigit():
        return False
    return nxt == "" or nxt.isspace()


def _add(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))
