"""Split Telegram HTML over the 4,096-character message limit without breaking it.

Telegram rejects a message whose HTML does not parse, so a part must never end inside a
tag or an entity, and every tag left open at a cut is closed at the end of the part and
reopened at the start of the next one. Cuts prefer paragraph breaks, then line breaks,
then sentence ends, then any character.
"""

from __future__ import annotations

import re

MAX_MESSAGE_CHARS = 4096

_ATOM = re.compile(r"<[^>]*>|&#?[0-9A-Za-z]+;|[\s\S]", re.ASCII)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z0-9-]+)")
_SENTENCE_ENDS = frozenset("。！？；!?;")
_SOFT_BREAKS = frozenset("，、：,: ")

# Break strength after an atom: 4 blank line, 3 line break, 2 sentence end, 1 comma/space.
_PARAGRAPH, _LINE, _SENTENCE, _SOFT = 4, 3, 2, 1


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def _closing(stack: list[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _opening(stack: list[tuple[str, str]]) -> str:
    return "".join(tag for _, tag in stack)


def _apply(stack: list[tuple[str, str]], atom: str) -> list[tuple[str, str]]:
    """The open-tag stack after ``atom`` (a new list only when it changes)."""
    if not atom.startswith("<") or len(atom) < 3:
        return stack
    match = _TAG_NAME.match(atom)
    if not match:
        return stack
    name = match.group(1).lower()
    if atom.startswith("</"):
        for depth in range(len(stack) - 1, -1, -1):
            if stack[depth][0] == name:
                return stack[:depth] + stack[depth + 1 :]
        return stack
    if atom.endswith("/>"):
        return stack
    return [*stack, (name, atom)]


def _strength(atoms: list[str], i: int) -> int:
    """How good a cut right after ``atoms[i]`` is."""
    atom = atoms[i]
    if atom == "\n":
        return _PARAGRAPH if i > 0 and atoms[i - 1] == "\n" else _LINE
    if atom in _SENTENCE_ENDS:
        return _SENTENCE
    if atom in _SOFT_BREAKS:
        return _SOFT
    return 0


def split_html(html: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Cut ``html`` into valid HTML parts of at most ``limit`` UTF-16 units each.

    A cut is made at the strongest break in the second half of the window, so parts stay
    reasonably full; leading and trailing blank lines of parts are dropped.
    """
    if utf16_len(html) <= limit:
        return [html] if html.strip() else []
    atoms = _ATOM.findall(html)
    parts: list[str] = []
    start = 0
    stack: list[tuple[str, str]] = []
    while start < len(atoms):
        while start < len(atoms) and atoms[start] == "\n":
            start += 1  # a part never starts with blank lines
        if start >= len(atoms):
            break
        prefix = _opening(stack)
        length = utf16_len(prefix)
        current = stack
        best: dict[int, tuple[int, list[tuple[str, str]]]] = {}
        i = start
        while i < len(atoms):
            after = _apply(current, atoms[i])
            size = length + utf16_len(atoms[i])
            if size + utf16_len(_closing(after)) > limit and i > start:
                break
            current, length = after, size
            i += 1
            strength = _strength(atoms, i - 1)
            if strength:
                best[strength] = (i, current)
        if i >= len(atoms):
            cut, cut_stack = i, current
        else:
            half = start + (i - start) // 2
            cut, cut_stack = i, current
            for strength in (_PARAGRAPH, _LINE, _SENTENCE, _SOFT):
                if strength in best and best[strength][0] > half:
                    cut, cut_stack = best[strength]
                    break
        body = "".join(atoms[start:cut]).rstrip("\n")
        part = prefix + body + _closing(cut_stack)
        if _has_text(part):
            parts.append(part)
        start, stack = cut, cut_stack
    return parts


def _has_text(part: str) -> bool:
    return bool(re.sub(r"<[^>]*>", "", part).strip())
