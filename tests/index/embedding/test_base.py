"""Encoding a question beside other work, for embedders with and without a hook."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from wenda.index.embedding.base import HashingEmbedder, encode_query_beside


class _Recording(HashingEmbedder):
    def __init__(self, order: list[str]) -> None:
        super().__init__(64)
        self.order = order

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.order.append("encode")
        return super().encode_queries(texts)


def test_an_embedder_without_a_hook_runs_the_side_work_first() -> None:
    order: list[str] = []
    embedder = _Recording(order)
    vector = encode_query_beside(embedder, "馆长是谁？", lambda: order.append("started"))
    assert order == ["started", "encode"]
    assert (vector == HashingEmbedder(64).encode_queries(["馆长是谁？"])[0]).all()


def test_an_embedder_with_a_hook_decides_when_the_side_work_starts() -> None:
    order: list[str] = []

    class Hooked(HashingEmbedder):
        def encode_query_beside(self, text: str, started: Callable[[], None]) -> np.ndarray:
            order.append("tokenized")
            started()
            return self.encode_queries([text])[0]

    encode_query_beside(Hooked(64), "馆长是谁？", lambda: order.append("started"))
    assert order == ["tokenized", "started"]
