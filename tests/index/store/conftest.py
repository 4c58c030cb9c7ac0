"""The store backends the contract suite runs against, in one place, and its test data.

Add a backend by adding a name to ``STORE_BACKENDS`` and a branch to ``_make_store``.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from wenda.index.models import Chunk, Section
from wenda.index.store.base import Store, StoredDocument
from wenda.index.store.manifest import Manifest

# Milvus: Lite in this process, and a real ``milvus-lite server`` over gRPC (the protocol a
# cluster speaks); only when the milvus extra is installed.
HAVE_MILVUS = importlib.util.find_spec("pymilvus") is not None
STORE_BACKENDS = ["local", *(["milvus-lite", "milvus-server"] if HAVE_MILVUS else [])]
DIM = 16

StoreFactory = Callable[[], Store]

if HAVE_MILVUS:
    from tests.index.store.milvus_server import milvus_server  # noqa: F401 (a fixture)


def _make_store(backend: str, root: Path, request: pytest.FixtureRequest) -> Store:
    if backend == "local":
        from wenda.index.store.local import LocalStore

        return LocalStore(root / "idx")
    if backend.startswith("milvus"):
        from wenda.index.store.milvus import MilvusParams, MilvusStore

        if backend == "milvus-server":
            uri = request.getfixturevalue("milvus_server").uri
        else:
            uri = str(root / "milvus.db")
        prefix = "c" + hashlib.sha1(str(root).encode()).hexdigest()[:12]  # one per test
        return MilvusStore(MilvusParams(uri, None, prefix, root, 100_000, 16, 64, 64))
    raise ValueError(backend)


@pytest.fixture(params=STORE_BACKENDS)
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """``store_factory()`` opens a handle on this test's store (call twice: two handles on
    the same data, like two processes)."""
    opened: list[Store] = []

    def make() -> Store:
        store = _make_store(request.param, tmp_path, request)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def manifest(dim: int = DIM) -> Manifest:
    return Manifest(model="contract-test", dim=dim, chunker={"pipeline": 1}, tokenizer="plain")


def vectors_for(texts: list[str], dim: int = DIM) -> np.ndarray:
    """Deterministic unit vectors per text (the same text always gets the same vector)."""
    rows = []
    for text in texts:
        seed = int.from_bytes(
            hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little"
        )
        vec = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
        rows.append(vec / np.linalg.norm(vec))
    return np.vstack(rows) if rows else np.zeros((0, dim), np.float32)


def make_doc(
    doc_id: str, sentences: list[str], version: str = "1"
) -> tuple[StoredDocument, list[Chunk], np.ndarray, list[list[str]]]:
    """A document of one chunk per sentence; tokens = the sentence's words (space split)."""
    text = "".join(f"{s}。" for s in sentences)
    chunks, start = [], 0
    for i, sentence in enumerate(sentences):
        end = start + len(sentence) + 1
        page = i + 1 if doc_id.endswith(".pdf") else None
        chunks.append(Chunk(doc_id, doc_id, "第一节", start, end, text[start:end], page))
        start = end
    doc = StoredDocument(
        doc_id,
        doc_id,
        f"hash-{doc_id}-{version}",
        text,
        (Section("第一节", 0, len(text)),),
        "2026-12-01T00:00:00+00:00",
    )
    tokens = [s.split() for s in sentences]
    return doc, chunks, vectors_for([c.text for c in chunks]), tokens
