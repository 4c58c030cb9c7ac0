"""Character normalization.

Two kinds, kept apart on purpose:
- ``unify_cjk`` runs at load time on every document, so both matching and the cited text
  are right: radical and compatibility look-alikes (⻔, ⾯, U+F900…) become the ideographs
  they stand for. One code point in, one out: offsets are unaffected.
- The ``*_for_match``/``fold``/``nfkc`` functions are for matching only (never for display:
  citations keep the original widths and script). ``fold`` maps traditional Chinese to
  simplified with OpenCC, so "門票" and "门票" are the same word to BM25 and answer scoring.
"""

from __future__ import annotations

import threading
import unicodedata
from functools import cache
from typing import Any

from wenda.index.ingest.cjk_table import LOOKALIKES

_FULLWIDTH_OFFSET = 0xFEE0
# Kangxi radicals, CJK compatibility ideographs and their supplement: NFKC gives the
# unified ideograph (one code point). Radical supplement forms come from ``cjk_table``.
_NFKC_RANGES = ((0x2F00, 0x2FE0), (0xF900, 0xFB00), (0x2F800, 0x2FA20))


@cache
def _unify_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for low, high in _NFKC_RANGES:
        for code in range(low, high):
            target = unicodedata.normalize("NFKC", chr(code))
            if (
                len(target) == 1
                and target != chr(code)
                and "CJK UNIFIED" in unicodedata.name(target, "")
            ):
                table[code] = target
    table.update(LOOKALIKES)
    return table


def unify_cjk(text: str) -> str:
    """Replace CJK radical/compatibility look-alikes by unified ideographs (length-preserving)."""
    return text.translate(_unify_table())


def to_halfwidth(text: str) -> str:
    """Map full-width ASCII variants (Ａ１，！) and the ideographic space to half-width.

    Length-preserving (one char in, one char out), so offsets computed on the result are
    valid on the original text.
    """
    out = []
    for ch in text:
        code = ord(ch)
        if code == 0x3000:
            out.append(" ")
        elif 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - _FULLWIDTH_OFFSET))
        else:
            out.append(ch)
    return "".join(out)


def normalize_for_match(text: str) -> str:
    """Length-preserving normalization: half-width forms, lower case where 1:1, and
    traditional characters folded to simplified where the fold is one character for one."""
    return fold_chars("".join(_lower1(ch) for ch in to_halfwidth(text)))


def _lower1(ch: str) -> str:
    low = ch.lower()
    return low if len(low) == 1 else ch


def nfkc(text: str) -> str:
    """Full NFKC (may change length); used for queries and tokens, not for offsets."""
    return unicodedata.normalize("NFKC", text).lower()


_OPENCC_LOCK = threading.Lock()


@cache
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    """Traditional → simplified (OpenCC t2s, phrase-aware); for matching only.

    OpenCC converts phrases ("資訊" → "资讯"), so the result may differ in length from the
    input; use ``fold_chars`` where offsets must stay valid.
    """
    if text.isascii():
        return text
    with _OPENCC_LOCK:
        return str(_converter().convert(text))


def match_key(text: str) -> str:
    """The form tokens and question terms are compared in: NFKC, lower case, simplified."""
    return fold(nfkc(text))


def fold_chars(text: str) -> str:
    """Traditional → simplified character by character (length-preserving)."""
    if text.isascii():
        return text
    folded = fold(text)
    if len(folded) == len(text):
        return folded
    return "".join(f if len(f := fold(ch)) == 1 else ch for ch in text)
