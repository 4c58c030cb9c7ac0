"""Late-chunked sentence states: each sentence of a chunk, pooled out of the chunk's own
encoder pass, stored with the chunk record.

Why (issue 9): the passage cosine is one number per passage, so inside the right passage
the answer model had no dense signal to tell the sentence that answers from its
neighbours. Encoding every sentence on its own would double a build; the token states of
the chunk's pass are there anyway, and pooling them per sentence keeps the passage's
context (late chunking). Over nine article splits of CMRC + DRCD this raised held-out
answer accuracy in every split (``bench/span_dense.py``, README "Answer model").

A state is the *sum* of the sentence's token states (not the mean): the state of two
consecutive sentences is then the sum of theirs, and a cosine needs no token counts. It is
kept in ``Chunk.states`` as int8 with one float32 scale per sentence (388 bytes a sentence
at 384 dimensions, half of float16): over the official and eight random article splits the
answer model's held-out figures stay within 0.9 points of float16 states (README).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from wenda.index.ingest.sentences import split_sentences
from wenda.index.models import Chunk

MAX_BYTES = 48_000
"""A chunk with more sentence states than this keeps none (base64 of it must fit one
Milvus VARCHAR of 65,535 bytes); ~123 sentences of 384 dimensions, far above real chunks."""


def chunk_sentences(chunk: Chunk, embedded_text: str) -> list[tuple[int, int]]:
    """Each ``split_sentences`` sentence of ``chunk.text`` as bounds in ``embedded_text``
    (the text the encoder saw, which may start with the section heading)."""
    base = embedded_text.rfind(chunk.text)
    if base < 0:
        return []
    return [(base + s, base + e) for s, e in split_sentences(chunk.text)]


def pool(
    hidden: np.ndarray, offsets: Sequence[tuple[int, int]], bounds: Sequence[tuple[int, int]]
) -> np.ndarray:
    """(len(bounds), dim) sums of the token states lying wholly inside each ``[lo, hi)``
    (character offsets of the encoded text; special and empty tokens never count)."""
    if not bounds:
        return np.zeros((0, hidden.shape[-1]), dtype=np.float32)
    spans = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)[: len(hidden)]
    lo, hi = spans[:, 0], spans[:, 1]
    b = np.asarray(bounds, dtype=np.int64).reshape(-1, 2)
    inside = (lo[None, :] >= b[:, :1]) & (hi[None, :] <= b[:, 1:]) & (hi > lo)[None, :]
    out: np.ndarray = inside.astype(np.float32) @ hidden[: len(spans)].astype(np.float32)
    return out


def pack(states: np.ndarray) -> bytes | None:
    """int8 bytes of (sentences, dim) states with one float32 scale per sentence (the
    scales first); None when too large to store."""
    data = np.ascontiguousarray(states, dtype=np.float32)
    if not np.isfinite(data).all():
        return None
    peak = np.abs(data).max(axis=1) if data.size else np.zeros(len(data), np.float32)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    values = np.rint(data / scales[:, None]).astype(np.int8)
    raw = scales.tobytes() + values.tobytes()
    return raw if len(raw) <= MAX_BYTES else None


def unpack(blob: bytes | None, dim: int, sentences: int) -> np.ndarray | None:
    """float32 (sentences, dim) states, or None when ``blob`` is missing or does not hold
    exactly one state per sentence (a chunk record from another recipe)."""
    if not blob or dim <= 0 or len(blob) != sentences * (dim + 4):
        return None
    scales = np.frombuffer(blob, dtype=np.float32, count=sentences)
    values = np.frombuffer(blob, dtype=np.int8, offset=4 * sentences).reshape(sentences, dim)
    return values.astype(np.float32) * scales[:, None]
