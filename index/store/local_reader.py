"""One loaded local index version: SQLite records, FAISS, BM25, ids and vectors.

Files of a version directory (format 2)::

    manifest.json   recipe, documents, chunk count, sizes and sha256 of the other files
    chunks.sqlite   document and chunk records keyed by stable chunk id
    ids.npy         int64 chunk id of each row (FAISS position = BM25 row = vectors row)
    vectors.npy     float32 vectors by row, memory-mapped (no FAISS reconstruct anywhere)
    dense.faiss     FAISS inner-product index over the rows (flat or HNSW)
    lexical/        bm25s index over the rows' tokens + idf.json

Loading verifies the version (``integrity.py``); a reader is immutable and thread-safe.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np
from wenda.index.errors import IndexDamagedError
from wenda.index.models import Chunk, DocumentInfo
from wenda.index.store.base import StoredDocument
from wenda.index.store.dense import dense_search, load_dense_index
from wenda.index.store.integrity import (
    load_manifest,
    verify_counts,
    verify_files,
    verify_hashes,
)
from wenda.index.store.lexical import LexicalIndex
from wenda.index.store.manifest import FORMAT_VERSION, Manifest
from wenda.index.store.records import ChunkStore

log = logging.getLogger("wenda.store")


class LocalReader:
    """``IndexReader`` over one version directory."""

    def __init__(
        self,
        path: Path,
        manifest: Manifest,
        records: ChunkStore,
        dense: faiss.Index,
        lexical: LexicalIndex,
        ids: np.ndarray,
        vectors: np.ndarray,
    ) -> None:
        self.path = path
        self._manifest = manifest
        self.records = records
        self.dense = dense
        self.lexical = lexical
        self.ids = ids
        self.vector_rows = vectors
        self.hashes_pending = False  # set by load() when the version is too large to hash
        self._order = np.argsort(ids, kind="stable")
        self._sorted_ids = ids[self._order]
        self.closed = False

    @classmethod
    def load(cls, path: Path, ef_search: int) -> LocalReader:
        """Load and verify; any damage raises ``IndexDamagedError`` naming what is wrong."""
        version = path.name
        if not path.is_dir():
            raise IndexDamagedError(version, "版本目录不存在 (version directory missing)")
        manifest = load_manifest(path, version)
        if manifest.format != FORMAT_VERSION:
            raise IndexDamagedError(
                version,
                f"索引格式 {manifest.format} 已过时，请运行 wenda index "
                f"(format {manifest.format}; this version reads {FORMAT_VERSION})",
            )
        hashed = verify_files(path, version, manifest)
        records: ChunkStore | None = None
        try:
            records = ChunkStore(path / "chunks.sqlite")
            check = records.quick_check()
            if check != "ok":
                raise IndexDamagedError(version, f"chunks.sqlite 损坏 ({check})")
            n_docs, n_chunks = records.counts()
            dense = load_dense_index(path / "dense.faiss", ef_search)
            lexical = LexicalIndex.load(path / "lexical")
            ids = np.load(path / "ids.npy", allow_pickle=False)
            vectors = np.load(path / "vectors.npy", mmap_mode="r", allow_pickle=False)
        except IndexDamagedError:
            if records is not None:
                records.close()
            raise
        except (sqlite3.Error, RuntimeError, OSError, ValueError, KeyError, EOFError) as exc:
            if records is not None:
                records.close()
            raise IndexDamagedError(version, f"无法读取 ({type(exc).__name__}: {exc})") from None
        reader = cls(path, manifest, records, dense, lexical, ids, vectors)
        reader.hashes_pending = not hashed
        try:
            verify_counts(
                version,
                {
                    "manifest": manifest.chunks,
                    "sqlite": n_chunks,
                    "ids": len(ids),
                    "vectors": len(vectors),
                    "faiss": int(dense.ntotal),
                    "bm25": lexical.n_docs,
                },
            )
            verify_counts(
                version, {"manifest docs": len(manifest.documents), "sqlite docs": n_docs}
            )
            if vectors.ndim != 2 or vectors.shape[1] != manifest.dim or dense.d != manifest.dim:
                raise IndexDamagedError(version, f"向量维度不符 (dimension != {manifest.dim})")
        except IndexDamagedError:
            reader.close()
            raise
        return reader

    # --- IndexReader ---------------------------------------------------------------------
    @property
    def version(self) -> str:
        return self.path.name

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def chunk_count(self) -> int:
        return self._manifest.chunks

    @property
    def dim(self) -> int:
        return self._manifest.dim

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        rows, scores = dense_search(self.dense, vector, k)
        return list(zip(self.ids[rows].tolist(), scores.tolist(), strict=True))

    def lexical_search(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        rows, scores = self.lexical.search(terms, k)
        return list(zip(self.ids[rows].tolist(), scores.tolist(), strict=True))

    def rows(self, chunk_ids: Sequence[int]) -> np.ndarray:
        """Row numbers of chunk ids (``KeyError`` for an unknown id)."""
        wanted = np.asarray(chunk_ids, dtype=np.int64).reshape(-1)
        pos = np.searchsorted(self._sorted_ids, wanted)
        pos = np.minimum(pos, max(len(self._sorted_ids) - 1, 0))
        if len(wanted) and (
            not len(self._sorted_ids) or not np.array_equal(self._sorted_ids[pos], wanted)
        ):
            raise KeyError("unknown chunk id")
        return self._order[pos]

    def vectors(self, chunk_ids: Sequence[int]) -> np.ndarray:
        rows = self.rows(chunk_ids)
        return np.asarray(self.vector_rows[rows], dtype=np.float32).reshape(len(rows), self.dim)

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, Chunk]:
        return self.records.chunks(chunk_ids)

    def term_idf(self, term: str) -> float:
        return self.lexical.term_idf(term)

    def documents(self) -> list[DocumentInfo]:
        return self.records.document_infos()

    def document(self, doc_id: str) -> StoredDocument | None:
        return self.records.document(doc_id)

    def doc_chunk_ids(self, doc_id: str) -> list[int]:
        return self.records.doc_chunk_ids(doc_id)

    @property
    def verification_pending(self) -> bool:
        return self.hashes_pending

    def verify_contents(self) -> bool:
        """The sha256s that ``load`` left out (a version over ``HASH_LIMIT_BYTES``)."""
        if not self.hashes_pending:
            return False
        verify_hashes(self.path, self.version, self._manifest)
        self.hashes_pending = False
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.records.close()
            log.debug("closed index version %s", self.version)
