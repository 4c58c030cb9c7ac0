"""Width and form normalization for matching (never for display: citations keep originals)."""

from __future__ import annotations

import unicodedata

_FULLWIDTH_OFFSET = 0xFEE0


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
    """Length-preserving normalization: half-width forms, lower case where 1:1."""
    return "".join(_lower1(ch) for ch in to_halfwidth(text))


def _lower1(ch: str) -> str:
    low = ch.lower()
    return low if len(low) == 1 else ch


def nfkc(text: str) -> str:
    """Full NFKC (may change length); used for queries and tokens, not for offsets."""
    return unicodedata.normalize("NFKC", text).lower()
