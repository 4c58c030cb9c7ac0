"""The store seam: what the builder and the query pipeline need from an index backend.

Two roles, both plain Python + numpy (no FAISS, bm25s or SQLite types cross this line), so a
server-side engine (Milvus) can implement them as well as the embedded FAISS + bm25s +
SQLite default (``wenda.index.store.local``):

- ``IndexReader``: one immutable, published version (what a query reads);
- ``IndexWriter``: one build in progress, invisible to readers until ``publish()``;
- ``Store``: a backend, holding published versions, a pointer to the current one, the
  published history (for rollback) and a build lock.

Chunk ids are stable signed 63-bit integers derived from the chunk's document and offsets
(``chunk_id_for``), never FAISS positions: a server-side engine uses them as primary keys,
an incremental build keeps them, and they fit SQLite's INTEGER (the bot's callback data).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
from wenda.index.models import Chunk, DocumentInfo, Section
from wenda.index.store.manifest import Manifest

if TYPE_CHECKING:
    from wenda.index.settings import Settings

__all__ = [
    "MAX_CHUNK_ID",
    "IndexReader",
    "IndexWriter",
    "Store",
    "StoredDocument",
    "chunk_id_for",
    "open_store",
]

MAX_CHUNK_ID = (1 << 63) - 1
"""Chunk ids lie in 1..MAX_CHUNK_ID (positive signed 64-bit; SQLite INTEGER, Milvus INT64)."""


@dataclass(frozen=True)
class StoredDocument:
    """A document as the store keeps it: cleaned text (citations point into it) + sections."""

    doc_id: str
    title: str
    content_hash: str
    text: str
    sections: tuple[Section, ...]
    indexed_at: str  # ISO 8601, UTC
    ocr: bool = False  # some text was recognised from images


def chunk_id_for(doc_id: str, content_hash: str, start: int, end: int) -> int:
    """The stable id of the chunk ``text[start:end]`` of one version of one document.

    Every backend must use this, so ids agree across backends and survive incremental and
    full rebuilds of unchanged documents. 63 bits of blake2b: collisions are ~1e-7 likely
    at a million chunks, and a writer rejects one if it ever happens.
    """
    key = f"{doc_id}\x00{content_hash}\x00{start}\x00{end}".encode("utf-8", "surrogatepass")
    value = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") & MAX_CHUNK_ID
    return value or 1


@runtime_checkable
class IndexReader(Protocol):
    """One published, immutable index version. Thread-safe for concurrent reads.

    Searches return ``(chunk_id, score)`` pairs, best first, only chunks that exist.
    """

    @property
    def version(self) -> str: ...

    @property
    def manifest(self) -> Manifest:
        """Model, dim, chunker recipe, per-document hashes, chunk count, dense index kind."""
        ...

    @property
    def chunk_count(self) -> int: ...

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top ``k`` chunks by cosine to one L2-normalized query vector (shape ``(dim,)``)."""
        ...

    def lexical_search(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        """Top ``k`` chunks by BM25 over the query's tokens; only chunks with score > 0."""
        ...

    def vectors(self, chunk_ids: Sequence[int]) -> np.ndarray:
        """Stored float32 vectors, one row per id in the given order (``(len(ids), dim)``).

        Raises ``KeyError`` for an unknown id.
        """
        ...

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, Chunk]:
        """Chunk records by id; unknown ids are simply absent."""
        ...

    def term_idf(self, term: str) -> float:
        """IDF of a token in this version; unseen terms score above every seen one."""
        ...

    def documents(self) -> list[DocumentInfo]:
        """All documents, sorted by ``doc_id``."""
        ...

    def document(self, doc_id: str) -> StoredDocument | None: ...

    def doc_chunk_ids(self, doc_id: str) -> list[int]:
        """Ids of one document's chunks in text order (what an incremental build copies)."""
        ...

    @property
    def verification_pending(self) -> bool:
        """True while a content check that load left out is still to run."""
        ...

    def verify_contents(self) -> bool:
        """The content check too slow for load (a large local version's sha256s), run while
        the version serves; raises ``IndexDamagedError``. False when there was none to run."""
        ...

    def close(self) -> None:
        """Release files/connections. Idempotent; the reader must not be used afterwards."""
        ...


@runtime_checkable
class IndexWriter(Protocol):
    """One build in progress. Nothing it writes is visible to readers before ``publish()``.

    Documents not added or copied are not in the new version (that is how one is dropped).
    """

    def add_document(
        self,
        doc: StoredDocument,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        token_lists: Sequence[Sequence[str]],
    ) -> list[int]:
        """Write a new or changed document: its chunks, their vectors (``(n, dim)``, float32,
        L2-normalized) and lexical tokens. Returns the chunk ids (``chunk_id_for``)."""
        ...

    def copy_document(self, doc_id: str) -> list[int]:
        """Reuse an unchanged document from the previous version (``begin(previous, ...)``):
        record, chunks, vectors and tokens, without re-embedding. Returns its chunk ids.

        Raises ``KeyError`` when the previous version does not hold ``doc_id``.
        """
        ...

    def publish(self) -> str:
        """Make the new version current, atomically (a crash before this returns leaves the
        previous version current), append it to the published history; return its name."""
        ...

    def abort(self) -> None:
        """Discard everything written. Idempotent; safe after a failed ``publish``."""
        ...


@runtime_checkable
class Store(Protocol):
    """An index backend: published versions, the current pointer, history and build lock."""

    def current(self) -> str | None:
        """The current version's name, or None (no index, or a pointer that names nothing).

        Cheap (called on every request to notice versions published by other processes)."""
        ...

    def open(self, version: str) -> IndexReader:
        """Load and verify one version; raises ``IndexDamagedError`` (errors.py) with the
        reason when it is missing, incomplete or fails its integrity checks."""
        ...

    def begin(self, previous: IndexReader | None, manifest: Manifest) -> IndexWriter:
        """Start a build. ``previous`` is the version unchanged documents are copied from;
        ``manifest`` carries model, dim, chunker and tokenizer (the writer fills in the
        documents, chunk count, dense index kind and creation time on publish)."""
        ...

    def published(self) -> list[str]:
        """The published history, oldest first, ending with the current version. Never
        includes half-written or orphaned versions (e.g. a build killed during publish)."""
        ...

    def rollback(self) -> str:
        """Point current at the version published before it and drop the current one from
        the history; returns the new current version. Raises ``FileNotFoundError`` if none,
        ``IndexDamagedError`` (changing nothing) if that version fails its checks."""
        ...

    def build_lock(self) -> AbstractContextManager[None]:
        """Exclusive across threads and processes (raises ``BuildInProgressError``)."""
        ...

    def cleanup(self, keep: int) -> list[str]:
        """Delete versions outside the ``keep`` newest of the published history, plus any
        leftovers of aborted or killed builds; never the current version. Call only while
        holding ``build_lock``. Returns what was removed."""
        ...

    def close(self) -> None:
        """Release connections held by the store itself (readers are closed separately)."""
        ...


def open_store(settings: Settings) -> Store:
    """The backend named by ``settings.store`` (``WENDA_STORE``), created at entry points."""
    if settings.store == "local":
        from wenda.index.store.dense import DenseParams
        from wenda.index.store.local import LocalStore

        params = DenseParams(
            ann_threshold=settings.ann_threshold,
            hnsw_m=settings.hnsw_m,
            hnsw_ef_construction=settings.hnsw_ef_construction,
            hnsw_ef_search=settings.hnsw_ef_search,
        )
        return LocalStore(settings.index_dir, params)
    if settings.store == "milvus":
        from wenda.index.store.milvus import MilvusParams, MilvusStore

        return MilvusStore(
            MilvusParams(
                uri=settings.milvus_uri,
                token=settings.milvus_token,
                prefix=settings.milvus_collection_prefix,
                lock_dir=settings.index_dir,
                ann_threshold=settings.ann_threshold,
                hnsw_m=settings.hnsw_m,
                hnsw_ef_construction=settings.hnsw_ef_construction,
                hnsw_ef_search=settings.hnsw_ef_search,
            )
        )
    raise ValueError(f"unknown store backend {settings.store!r}")


def check_vectors(vectors: np.ndarray, n: int, dim: int) -> np.ndarray:
    """Shape/dtype check shared by writers: ``n`` rows of ``dim`` float32 (C-contiguous)."""
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.ndim != 2 or array.shape != (n, dim):
        raise ValueError(f"expected vectors of shape ({n}, {dim}), got {array.shape}")
    return array


def checked_document(
    doc: StoredDocument,
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    token_lists: Sequence[Sequence[str]],
    dim: int,
) -> tuple[np.ndarray, list[int]]:
    """What every writer's ``add_document`` checks first: the vectors and the chunk ids.

    One token list per chunk, ``(len(chunks), dim)`` float32 vectors, and no two chunks of the
    document with the same id (``chunk_id_for``).
    """
    array = check_vectors(vectors, len(chunks), dim)
    if len(token_lists) != len(chunks):
        raise ValueError(f"{doc.doc_id}: {len(token_lists)} token lists, {len(chunks)} chunks")
    ids = [chunk_id_for(doc.doc_id, doc.content_hash, c.start, c.end) for c in chunks]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{doc.doc_id}: two chunks share a span (duplicate chunk id)")
    return array, ids
