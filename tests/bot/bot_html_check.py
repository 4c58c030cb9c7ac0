"""A strict checker for the HTML subset Telegram accepts (``parse_mode=HTML``).

Stricter than Telegram: every ``<``, ``>`` and ``&`` outside tags and entities is an error,
tags must be known and properly nested, entities must be the four named ones or numeric.
"""

from __future__ import annotations

from html.parser import HTMLParser

ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
NAMED_ENTITIES = {"lt", "gt", "amp", "quot"}


class HtmlError(ValueError):
    pass


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise HtmlError(f"unsupported tag <{tag}>")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise HtmlError(f"self-closing tag <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise HtmlError(f"unexpected </{tag}>, open: {self.stack}")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for ch in "<>&":
            if ch in data:
                raise HtmlError(f"unescaped {ch!r} in {data[:40]!r}")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in NAMED_ENTITIES:
            raise HtmlError(f"unknown entity &{name};")
        self.text.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[name])

    def handle_charref(self, name: str) -> None:
        self.text.append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))

    def unknown_decl(self, data: str) -> None:
        raise HtmlError(f"declaration {data!r}")

    def handle_comment(self, data: str) -> None:
        raise HtmlError("comment")


def check_telegram_html(text: str) -> str:
    """Raise :class:`HtmlError` unless ``text`` is valid; return the visible text."""
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.rawdata:  # HTMLParser keeps an unterminated tag or entity here
        raise HtmlError(f"unterminated markup: {checker.rawdata[:40]!r}")
    if checker.stack:
        raise HtmlError(f"unclosed tags: {checker.stack}")
    return "".join(checker.text)
