"""The embedder interface, a deterministic test embedder, and the factory that picks one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from wenda.index.ingest.normalize import normalize_for_match
from wenda.index.settings import Settings

_SPACES = np.array([ord(c) for c in " \t\n\r\u3000"], dtype=np.uint32)


class Embedder(Protocol):
    """Turns text into L2-normalized float32 vectors (so inner product = cosine)."""

    name: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(
        self, texts: list[str], batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray: ...


def encode_with_states(
    embedder: Embedder, texts: list[str], bounds: list[list[tuple[int, int]]], batch_size: int
) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """Passage vectors and, when the embedder can pool them from the same run, each
    text's sentence states (sums over ``bounds``, see ``embedding.sentence_states``);
    None for embedders that cannot (sentence-transformers under torch)."""
    with_states = getattr(embedder, "encode_passages_with_states", None)
    if with_states is None:
        return embedder.encode_passages(texts, batch_size=batch_size), None
    got: tuple[np.ndarray, list[np.ndarray] | None] = with_states(texts, bounds, batch_size)
    return got


def has_sentence_states(embedder: Embedder) -> bool:
    """Whether builds with ``embedder`` store sentence states (recorded in the manifest)."""
    return bool(getattr(embedder, "sentence_states", False))


def encode_query_beside(embedder: Embedder, text: str, started: Callable[[], None]) -> np.ndarray:
    """Encode one question, calling ``started()`` once the model's GIL-free run begins.

    Why: the question pipeline hands its lexical side (analysis, BM25) to another thread
    in ``started``, so it runs on the second core during the encode instead of before it.
    Embedders without such a moment (hashing, torch) call ``started()`` first.
    """
    beside = getattr(embedder, "encode_query_beside", None)
    if beside is None:
        return side_work_first(embedder, text, started)
    vector: np.ndarray = beside(text, started)
    return vector


def side_work_first(embedder: Embedder, text: str, started: Callable[[], None]) -> np.ndarray:
    """``encode_query_beside`` for an encoder with no hook into its model run: ``started()``
    first, then the encode (the side work then runs on the other core meanwhile)."""
    started()
    return embedder.encode_queries([text])[0]


class HashingEmbedder:
    """Deterministic character n-gram hashing embedder for fast tests and dev.

    It has no semantics beyond shared characters, but it is real: similar strings get
    similar vectors, so retrieval tests exercise the true FAISS and fusion paths.
    """

    sentence_states = True

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.name = f"hashing-{dim}"

    def _one(self, text: str) -> np.ndarray:
        codes = np.frombuffer(normalize_for_match(text).encode("utf-32-le"), dtype=np.uint32)
        codes = codes[~np.isin(codes, _SPACES)].astype(np.uint64)
        grams = np.concatenate([codes, codes[:-1] * np.uint64(1_000_003) + codes[1:]])
        mixed = (grams * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)  # Fibonacci hashing
        signs = np.where(mixed & np.uint64(1), 1.0, -1.0).astype(np.float32)
        vec = np.zeros(self.dim, dtype=np.float32)
        np.add.at(vec, (mixed >> np.uint64(1)) % np.uint64(self.dim), signs)
        length = float(np.linalg.norm(vec))
        return vec / length if length > 0 else vec

    def _many(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._one(t) for t in texts]).astype(np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._many(texts)

    def encode_passages(
        self, texts: list[str], batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        return self._many(texts)

    def encode_passages_with_states(
        self, texts: list[str], bounds: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each sentence's state: its own hashed vector times its length (a sum, as the
        neural encoder's pooled states are)."""
        states = [
            np.array([self._one(t[lo:hi]) * (hi - lo) for lo, hi in b], np.float32).reshape(
                len(b), self.dim
            )
            for t, b in zip(texts, bounds, strict=True)
        ]
        return self.encode_passages(texts, batch_size), states


def load_embedder(settings: Settings) -> Embedder:
    """Build the embedder that ``settings`` names (slow: loads a neural model)."""
    if settings.model == "hashing" or settings.model.startswith("hashing-"):
        dim = int(settings.model.split("-", 1)[1]) if "-" in settings.model else 256
        return HashingEmbedder(dim)
    from wenda.index.embedding.st_model import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder.from_settings(settings)
