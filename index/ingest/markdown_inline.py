"""Linear-time Markdown line handling: ATX headings, images, links and emphasis.

The regular expressions this replaces backtrack on hostile lines (a 4 KB heading line of
spaces took two minutes; 96 KB of ``*a `` took 46 s), and a build holds its lock while a
file is read. Each function here scans its input a bounded number of times and returns
exactly what the old patterns returned on ordinary text (a differential test checks it):

- heading:  ``^\\s{0,3}(#{1,6})\\s+(.*?)\\s*#*\\s*$``
- image:    ``!\\[([^\\]]*)\\]\\([^)]*\\)`` → alt text
- link:     ``\\[([^\\]]+)\\]\\([^)]*\\)`` → link text
- emphasis: ``(?<![A-Za-z0-9])(\\*\\*|__|\\*|~~|`)(?=\\S)(.+?)(?<=\\S)\\1(?![A-Za-z0-9])`` → inner
"""

from __future__ import annotations

_DELIMITERS = ("**", "__", "*", "~~", "`")  # the order the old alternation tried them


def atx_heading(line: str) -> tuple[int, str] | None:
    """``(level, text)`` of a ``# heading`` line (closing hashes dropped), else None."""
    indent = len(line) - len(line.lstrip())
    if indent > 3 or not line.startswith("#", indent):
        return None
    level = len(line) - indent - len(line[indent:].lstrip("#"))
    after = indent + level
    if level > 6 or after >= len(line) or not line[after].isspace():
        return None
    return level, line[after:].strip().rstrip("#").rstrip()


def strip_inline(text: str) -> str:
    """Images → alt text, links → their text, emphasis markers removed (twice, for nesting)."""
    lines = text.split("\n")  # '.' in the old patterns never crossed a line break
    out = []
    for line in lines:
        line = _strip_brackets(line, image=True)
        line = _strip_brackets(line, image=False)
        for _ in range(2):  # nested: **_x_**
            line = _strip_emphasis(line)
        out.append(line)
    return "\n".join(out)


def _strip_brackets(text: str, *, image: bool) -> str:
    """Replace ``[label](target)`` (``![alt](target)`` when ``image``) by the label."""
    opener = "![" if image else "["
    out: list[str] = []
    done = 0  # text[:done] has been copied or replaced
    i = text.find(opener)
    while i != -1:
        start = i + len(opener)
        close = text.find("]", start)
        if close == -1:
            break  # no later opener can close either
        if (close == start and not image) or not text.startswith("(", close + 1):
            i = text.find(opener, close + 1)  # every opener before ``close`` fails the same way
            continue
        end = text.find(")", close + 2)
        if end == -1:
            break  # no later link can find its ')' either
        out += (text[done:i], text[start:close])
        done = end + 1
        i = text.find(opener, done)
    out.append(text[done:])
    return "".join(out)


def _is_word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _next_closers(text: str, delimiter: str) -> list[int]:
    """``table[p]``: the first position >= p where ``delimiter`` can close (-1: none)."""
    n = len(text)
    size = len(delimiter)
    table = [-1] * (n + 2)
    nxt = -1
    for p in range(n - 1, -1, -1):
        if (
            p > 0
            and text.startswith(delimiter, p)
            and not text[p - 1].isspace()
            and (p + size >= n or not _is_word(text[p + size]))
        ):
            nxt = p
        table[p] = nxt
    return table


def _strip_emphasis(text: str) -> str:
    if not any(d in text for d in _DELIMITERS):
        return text
    n = len(text)
    closers = {d: _next_closers(text, d) for d in _DELIMITERS if d in text}
    out: list[str] = []
    done = 0
    i = 0
    while i < n:
        if text[i] not in "*_~`" or (i > 0 and _is_word(text[i - 1])):
            i += 1
            continue
        matched = False
        for delimiter, table in closers.items():
            inner = i + len(delimiter)
            if not text.startswith(delimiter, i) or inner >= n or text[inner].isspace():
                continue
            close = table[inner + 1]
            if close != -1:
                out += (text[done:i], text[inner:close])
                done = i = close + len(delimiter)
                matched = True
                break
        if not matched:
            i += 1
    out.append(text[done:])
    return "".join(out)
