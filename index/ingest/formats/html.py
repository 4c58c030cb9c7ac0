"""HTML: block structure to lines, <h1>-<h6> to headings, scripts and navigation dropped.

The tree is walked with an explicit stack, so a page nested thousands of levels deep
cannot exhaust Python's recursion limit.
"""

from __future__ import annotations

import re
from typing import Any

from wenda.index.ingest.cleaning import PARAGRAPHS
from wenda.index.ingest.encoding import decode_text
from wenda.index.ingest.formats.base import Lines, LoadedText, LoadOptions

_DROP_TAGS = ("script", "style", "nav", "noscript", "template", "svg", "iframe", "head", "title")
_BLOCK_TAGS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "body", "caption", "dd", "details"),
        *("div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header"),
        *("hr", "li", "main", "ol", "p", "pre", "section", "summary", "table", "tbody"),
        *("thead", "tfoot", "tr", "ul"),
    }
)
_HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_CELL_TAGS = frozenset({"td", "th"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)
_SPACE_RUN = re.compile(r"\s+")


def _is_cjk(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"


def join_cjk_lines(text: str) -> str:
    """Drop a line break (and the spaces around it) between two CJK characters.

    One pass over the whitespace runs: the lookaround pattern this replaces,
    ``(?<=CJK)\\s*\\n\\s*(?=CJK)``, was quadratic in a run's length (40 KB of " \\n": 16 s).
    """

    def gap(match: re.Match[str]) -> str:
        start, end = match.span()
        between = start > 0 and end < len(text) and _is_cjk(text[start - 1])
        return "" if between and _is_cjk(text[end]) and "\n" in match.group() else match.group()

    return _SPACE_RUN.sub(gap, text)


# Stack actions: append text to the open paragraph, flush it, add a whole line, walk a tag.
_TEXT, _FLUSH, _LINE, _HEADING, _WALK = range(5)


def read_html(data: bytes, stem: str, options: LoadOptions) -> LoadedText:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode_html(data), "html.parser")
    title = tag_text(soup.find("title")) or tag_text(soup.find("h1"))
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    out = Lines(options.max_text_chars)
    _walk(soup, out)
    return out.result(title or stem, PARAGRAPHS)


def tag_text(tag: Any) -> str:
    """Text of a tag with inline markup joined as a browser shows it ("共建<b>科创</b>")."""
    text = tag.get_text() if tag is not None else ""
    return " ".join(join_cjk_lines(text).split())


def _decode_html(data: bytes) -> str:
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        codec = declared.group(1).decode("ascii").lower()
        codec = "gb18030" if codec in {"gb2312", "gbk", "x-gbk", "gb_2312-80"} else codec
        try:
            return data.decode(codec)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(data)


def _walk(root: Any, out: Lines) -> None:
    buffer: list[str] = []
    stack: list[tuple[int, Any]] = [(_WALK, root)]
    while stack and not out.full:
        action, value = stack.pop()
        if action == _TEXT:
            buffer.append(value)
        elif action == _FLUSH:
            _flush(out, buffer)
        elif action in (_LINE, _HEADING):
            _flush(out, buffer)
            out.add(value, heading=action == _HEADING)
        else:
            stack.extend(reversed(_children_actions(value)))
    _flush(out, buffer)


def _children_actions(node: Any) -> list[tuple[int, Any]]:
    from bs4 import CData, NavigableString, Tag

    actions: list[tuple[int, Any]] = []
    for child in getattr(node, "children", ()):
        if isinstance(child, NavigableString):
            if type(child) in (NavigableString, CData):  # not comments, doctypes, ...
                actions.append((_TEXT, join_cjk_lines(str(child))))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name == "br":
            actions.append((_FLUSH, None))
        elif name in _HEADING_TAGS:
            actions.append((_HEADING, tag_text(child)))
        elif name == "pre":
            actions.append((_LINE, child.get_text()))
        elif name in _CELL_TAGS:
            actions += [(_TEXT, " "), (_WALK, child), (_TEXT, " ")]
        elif name in _BLOCK_TAGS:
            actions += [(_FLUSH, None), (_WALK, child), (_FLUSH, None)]
        else:
            actions.append((_WALK, child))
    return actions


def _flush(out: Lines, buffer: list[str]) -> None:
    text = " ".join("".join(buffer).split())
    buffer.clear()
    if text:
        out.add(text)
