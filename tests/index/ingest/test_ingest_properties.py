"""Properties of load → clean → chunk on generated text (hypothesis), for every text format
and encoding.

Why: the example tests hold the layouts someone thought of; citations must stay exact for
any input. Generated documents mix Chinese sentence punctuation, every kind of line break
and space, invisible and control characters, Markdown and HTML markup, full-width forms,
traditional characters, over-long sentences and lone surrogates. For each one: a clean skip
or a document whose sections and chunks point inside its text, whose chunks quote it
exactly, stay under the size limit and together cover every character outside a heading,
and whose match form keeps its length (offsets found in it are offsets in the original).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from wenda.index.errors import UnreadableDocumentError
from wenda.index.ingest.chunking import chunk_document
from wenda.index.ingest.loaders import load_bytes
from wenda.index.ingest.normalize import normalize_for_match
from wenda.index.ingest.pages import build_document
from wenda.index.ingest.sentences import split_sentences
from wenda.index.models import Document

from tests.conftest import reproducible

MAX_CHARS = 320
PIECES = [
    *"。！？；…，、：“”「」（）《》",
    "……",
    "——",
    *["\n", "\n\n", "\r\n", "\r", "\f", "\x85", "\u2028"],
    *[" ", "\u3000", "\t", "\u00a0", "\u200b", "\ufeff", "\x00", "\x1c", "\x7f"],
    *["# ", "## ", "- ", "1. ", "（一）", "一、", "第一章", "|", "| a | b |\n|---|---|\n"],
    *["*", "**", "`", "```", "[链接](http://x)", "<b>", "</p>", "<h1>", "<br>", "&amp;"],
    "&#12345;",
    *["2020", "年", "7月", "１２３", "ＡＢＣ", "臺灣", "開放時間", "⻳", "⾦", "中欧班列", "成渝"],
    *["a", "Z", ".", "!", "?", "'", '"', "-", "图", "记者 张三", "x" * 50, "长" * 400, "\ud800"],
]
SENTENCES = ["重庆与成都的合作不断深化，", "川渝两地共建了三个协同中心。", "今年1—4月开行1936列。"]
PIECE = st.sampled_from(PIECES) | st.sampled_from(SENTENCES) | st.text(max_size=4)
LINE = st.lists(PIECE, min_size=1, max_size=12).map("".join)  # short lines become headings
BREAK = st.sampled_from(["\n", "\n\n", "\r\n", "\n\n\n"])
TEXT = st.lists(st.tuples(LINE, BREAK), min_size=1, max_size=40).map(
    lambda lines: "".join(line + brk for line, brk in lines)
)


def _document(text: str, suffix: str, codec: str) -> Document | None:
    errors = "replace" if codec == "gb18030" else "surrogatepass"
    data = text.encode(codec, errors=errors)
    try:
        return build_document(f"doc{suffix}", load_bytes(f"doc{suffix}", data), "hash")
    except UnreadableDocumentError as exc:
        assert exc.reason  # a skip always says why
        return None


@reproducible(300)
@given(TEXT, st.sampled_from([".txt", ".md", ".html"]), st.sampled_from(["utf-8", "gb18030"]))
def test_chunks_quote_the_text_exactly_and_lose_nothing_but_headings(
    text: str, suffix: str, codec: str
) -> None:
    doc = _document(text, suffix, codec)
    if doc is None:
        return
    n = len(doc.text)
    assert "\ud800" not in doc.text  # a lone surrogate never reaches the index
    heading_chars: set[int] = set()
    for section in doc.sections:
        assert 0 <= section.start <= section.end <= n
        if doc.text.startswith(section.title, section.start):
            heading_chars.update(range(section.start, section.start + len(section.title)))
    covered = bytearray(n)
    for chunk in chunk_document(doc, max_chars=MAX_CHARS):
        assert 0 <= chunk.start < chunk.end <= n
        assert chunk.text == doc.text[chunk.start : chunk.end]
        assert chunk.text == chunk.text.strip() and chunk.text
        body = chunk.end - chunk.start - len(chunk.section)  # a heading line rides along
        assert body <= MAX_CHARS + 1, (body, chunk.text[:40])
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    lost = [
        i
        for i in range(n)
        if not covered[i] and not doc.text[i].isspace() and i not in heading_chars
    ]
    assert not lost, repr(doc.text[max(0, lost[0] - 20) : lost[0] + 20])
    assert len(normalize_for_match(doc.text)) == n
    for start, end in split_sentences(doc.text):
        assert 0 <= start < end <= n
