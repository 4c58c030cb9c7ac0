"""Decode text files whose encoding nobody declared: UTF-8, GB18030/GBK, Big5, or a guess.

Chinese corpora mix UTF-8 with legacy GBK/GB18030 and Big5 files; a wrong guess turns a
document into mojibake that still "decodes", so candidates are scored for plausibility.
"""

from __future__ import annotations

from wenda.index.errors import UnreadableDocumentError

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
    try:
        return _guess(data)
    except UnreadableDocumentError:
        if best is None:
            raise
        return best[2]


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
