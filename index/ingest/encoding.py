"""Decode text files whose encoding nobody declared: UTF-8, GB18030/GBK, Big5, or a guess.

Chinese corpora mix UTF-8 with legacy GBK/GB18030 and Big5 files; a wrong guess turns a
document into mojibake that still "decodes", so candidates are scored for plausibility.
A file that is overwhelmingly valid in one encoding but has a few damaged bytes (a bad
copy, a cut multi-byte character) is decoded with U+FFFD replacements and a warning rather
than dropped whole.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from wenda.index.errors import UnreadableDocumentError

logger = logging.getLogger("wenda.corpus")

# Share of replaced characters up to which a decoding with replacement is accepted.
MAX_REPLACED_SHARE = 0.01
_REPLACEMENT = "\ufffd"

# The loaders only see bytes; the corpus sets the document's id so warnings can name it.
_document: ContextVar[str] = ContextVar("wenda_decoding_document", default="?")


@contextmanager
def decoding_document(doc_id: str) -> Iterator[None]:
    """Name ``doc_id`` in the warnings ``decode_text`` logs while the block runs."""
    token = _document.set(doc_id)
    try:
        yield
    finally:
        _document.reset(token)


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode_text(data: bytes) -> str:
    """Decode text bytes: BOMs, strict UTF-8, then GB18030 or Big5, then a best guess.

    charset-normalizer misreads short Chinese, so the common encodings are tried
    strictly first; Big5 bytes also decode as GB18030, so both are scored when both work.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise UnreadableDocumentError("undecodable text (无法解码)") from exc
    if b"\x00" in data:
        raise UnreadableDocumentError("binary content, not text (二进制文件)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    decoded = [
        (_plausibility(text), codec, text)
        for codec in ("gb18030", "big5")
        if (text := _try_decode(data, codec)) is not None
    ]
    # max() keeps the first of equal scores, so GB18030 wins ties
    best = max(decoded, key=lambda item: item[0], default=None)
    if best is not None and best[0] >= 0.5:
        return best[2]
    repaired = decode_with_replacement(data)
    if repaired is not None:
        return repaired
    try:
        return _guess(data)
    except UnreadableDocumentError:
        if best is None:
            raise
        return best[2]


def decode_with_replacement(data: bytes) -> str | None:
    """The text of ``data`` in the encoding it is overwhelmingly valid in, damage replaced.

    Returns None when no candidate keeps at least 99% of the characters intact (then the
    file is not damaged text in that encoding but something else). Logs one warning.
    """
    candidates = []
    for codec in ("utf-8", "gb18030", "big5"):  # UTF-8 first: its byte structure is strict
        text = data.decode(codec, errors="replace")
        bad = text.count(_REPLACEMENT) - _count_genuine(data, codec)
        if bad <= MAX_REPLACED_SHARE * max(len(text), 1):
            candidates.append((codec == "utf-8", _plausibility(text), -bad, codec, text))
    if not candidates:
        return None
    _, _, minus_bad, codec, text = max(candidates, key=lambda item: item[:3])
    bad = -minus_bad
    if bad <= 0:
        return text  # valid in that encoding, just little Han to score: nothing was replaced
    logger.warning(
        "%s: %d undecodable byte sequence(s) replaced with U+FFFD (as %s; 部分字节无法解码)",
        _document.get(),
        bad,
        codec,
    )
    return text


def _count_genuine(data: bytes, codec: str) -> int:
    """U+FFFD characters that were already in the file (encoded properly), not damage."""
    try:
        return data.count(_REPLACEMENT.encode(codec))
    except UnicodeEncodeError:
        return 0


def _try_decode(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _plausibility(text: str, sample: int = 4000) -> float:
    """Share of Han characters that are common ones (GB2312 level 1 or Big5 frequent).

    Real Chinese text scores ~0.9; Big5 bytes read as GB18030 (or the reverse) turn into
    kana, symbols and rare characters and score far lower.
    """
    han = [ch for ch in text[: sample * 4] if "\u4e00" <= ch <= "\u9fff"][:sample]
    if not han:
        return 0.0
    return sum(_common_han(ch) for ch in han) / len(han)


def _common_han(ch: str) -> bool:
    for codec, low, high in (("gb2312", 0xB0A1, 0xD7FE), ("big5", 0xA440, 0xC67E)):
        try:
            if low <= int.from_bytes(ch.encode(codec), "big") <= high:
                return True
        except UnicodeEncodeError:
            continue
    return False


def _guess(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UnreadableDocumentError("undecodable text (无法解码)")
    text = str(best)
    if sum(ch.isprintable() or ch in "\n\r\t" for ch in text) < 0.95 * max(len(text), 1):
        raise UnreadableDocumentError("binary content, not text (二进制文件)")
    return text
