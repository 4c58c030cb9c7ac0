"""One local build in progress, written into a staging directory and published atomically.

Row layout of the new version: the previous version's rows that were copied, in their old
order, then the added documents' rows. When every previous row is kept and the index is
HNSW, the new FAISS index is the previous one with only the new vectors added (HNSW
cannot remove, so any removed or changed document means a rebuild from ``vectors.npy``).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import faiss
import numpy as np
from wenda.index.models import Chunk
from wenda.index.store.base import StoredDocument, checked_document
from wenda.index.store.dense import (
    DenseParams,
    add_vectors,
    build_dense_index,
    index_kind,
    load_dense_index,
    save_dense_index,
)
from wenda.index.store.integrity import file_entries
from wenda.index.store.lexical import LexicalIndex
from wenda.index.store.local_reader import LocalReader
from wenda.index.store.manifest import DocEntry, Manifest
from wenda.index.store.records import RecordWriter
from wenda.index.store.versions import VersionStore

log = logging.getLogger("wenda.store")
_BLOCK = 65536  # rows copied per step, so memory stays flat on big versions


class LocalWriter:
    """``IndexWriter`` for ``LocalStore``."""

    def __init__(
        self,
        versions: VersionStore,
        previous: LocalReader | None,
        manifest: Manifest,
        params: DenseParams,
    ) -> None:
        self._versions = versions
        self._previous = previous
        self._manifest = replace(manifest, documents={}, files={})
        self._params = params
        self._staging = versions.new_staging()
        self._records = RecordWriter(self._staging / "chunks.sqlite")
        self._docs: dict[str, DocEntry] = {}
        self._copied_ids: list[int] = []
        self._copied_docs: list[str] = []
        self._added_ids: list[int] = []
        self._added_vectors: list[np.ndarray] = []
        self._added_tokens: list[list[str]] = []
        self._done = False
        self.dense_build = ""  # "appended" or "rebuilt", with seconds, after publish()

    def add_document(
        self,
        doc: StoredDocument,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        token_lists: Sequence[Sequence[str]],
    ) -> list[int]:
        array, ids = checked_document(doc, chunks, vectors, token_lists, self._manifest.dim)
        self._records.add(doc, ids, chunks, token_lists)
        self._docs[doc.doc_id] = DocEntry(doc.content_hash, doc.title, len(chunks), doc.indexed_at)
        self._added_ids.extend(ids)
        self._added_vectors.append(array)
        self._added_tokens.extend(list(t) for t in token_lists)
        return ids

    def copy_document(self, doc_id: str) -> list[int]:
        prev = self._previous
        if prev is None or doc_id not in prev.manifest.documents:
            raise KeyError(doc_id)
        self._records.copy_from(prev.path / "chunks.sqlite", doc_id)
        ids = prev.doc_chunk_ids(doc_id)
        self._docs[doc_id] = prev.manifest.documents[doc_id]
        self._copied_ids.extend(ids)
        self._copied_docs.append(doc_id)
        return ids

    def publish(self) -> str:
        try:
            self._write()
            version = self._versions.publish(self._staging)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return version

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._records.abort()
        shutil.rmtree(self._staging, ignore_errors=True)

    # --- writing -------------------------------------------------------------------------
    def _write(self) -> None:
        prev = self._previous
        dim = self._manifest.dim
        prev_rows = (
            np.sort(prev.rows(self._copied_ids)) if prev is not None else np.zeros(0, np.int64)
        )
        added = (
            np.vstack(self._added_vectors)
            if self._added_vectors
            else np.zeros((0, dim), np.float32)
        )
        ids = np.concatenate(
            [
                prev.ids[prev_rows] if prev is not None else np.zeros(0, np.int64),
                np.asarray(self._added_ids, dtype=np.int64),
            ]
        ).astype(np.int64)
        if len(np.unique(ids)) != len(ids):
            raise ValueError("duplicate chunk ids in one version (a document added twice?)")
        total = len(ids)
        np.save(self._staging / "ids.npy", ids)
        vectors = np.lib.format.open_memmap(
            self._staging / "vectors.npy", mode="w+", dtype=np.float32, shape=(total, dim)
        )
        for lo in range(0, len(prev_rows), _BLOCK):
            assert prev is not None
            part = prev_rows[lo : lo + _BLOCK]
            vectors[lo : lo + len(part)] = prev.vector_rows[part]
        vectors[len(prev_rows) :] = added
        vectors.flush()

        self._write_dense(vectors, added, prev, len(prev_rows))
        del vectors
        self._write_lexical(prev, prev_rows)
        self._records.finish()

        manifest = self._manifest
        manifest.documents = dict(sorted(self._docs.items()))
        manifest.chunks = total
        manifest.created_at = datetime.now(UTC).isoformat(timespec="seconds")
        manifest.files = file_entries(self._staging)
        manifest.save(self._staging / "manifest.json")

    def _write_dense(
        self, vectors: np.ndarray, added: np.ndarray, prev: LocalReader | None, kept: int
    ) -> None:
        started = time.perf_counter()
        total = len(vectors)
        can_append = (
            prev is not None
            and prev.manifest.dense_index == "hnsw"
            and kept == prev.chunk_count  # nothing removed or changed: rows 0..kept-1 unchanged
            and total > self._params.ann_threshold
        )
        if can_append:
            assert prev is not None
            index: faiss.Index = load_dense_index(
                prev.path / "dense.faiss", self._params.hnsw_ef_search
            )
            assert isinstance(index, faiss.IndexHNSWFlat)
            index.hnsw.efConstruction = self._params.hnsw_ef_construction
            add_vectors(index, added)
            mode = "appended"
        else:
            index = build_dense_index(vectors, self._params)
            mode = "rebuilt"
        save_dense_index(index, self._staging / "dense.faiss")
        self._manifest.dense_index = index_kind(index)
        seconds = time.perf_counter() - started
        self.dense_build = f"{mode} {seconds:.2f}s"
        log.info("dense index %s: %d vectors (%d new) in %.2f s", mode, total, len(added), seconds)

    def _write_lexical(self, prev: LocalReader | None, prev_rows: np.ndarray) -> None:
        """BM25 over every row's tokens (bm25s cannot add to an index: built each time)."""
        tokens: list[list[str]] = []
        if prev is not None and len(prev_rows):
            by_id: dict[int, list[str]] = {}
            for doc_id in self._copied_docs:
                by_id.update(prev.records.doc_tokens(doc_id))
            tokens = [by_id[cid] for cid in prev.ids[prev_rows].tolist()]
        tokens.extend(self._added_tokens)
        LexicalIndex.build(tokens).save(self._staging / "lexical")
