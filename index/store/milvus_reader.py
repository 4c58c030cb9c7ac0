"""One published Milvus index version, read through the ``IndexReader`` interface.

Dense and BM25 searches run in Milvus, one plain ``search`` each; the core fuses and
reranks them exactly as it does for the local store, so both backends answer alike.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from pymilvus.exceptions import MilvusException
from wenda.index.errors import IndexDamagedError
from wenda.index.models import Chunk, DocumentInfo
from wenda.index.store.base import StoredDocument
from wenda.index.store.manifest import DocEntry, Manifest
from wenda.index.store.milvus_conn import QUERY_LIMIT, MilvusConnection, is_missing
from wenda.index.store.milvus_schema import (
    BM25_PARAMS,
    CHUNK_FIELDS,
    DOC_META_FIELDS,
    KINDS,
    MANIFEST_PROPERTY,
    STATES_FIELD,
    chunk_from_row,
    collection_name,
    document_from_rows,
    encode_token,
    filter_equals,
)

_ID_BATCH = 1000
_IDF_CACHE_MAX = 50_000


class MilvusReader:
    """Immutable once opened; safe for concurrent reads (pymilvus clients are)."""

    def __init__(
        self,
        conn: MilvusConnection,
        prefix: str,
        version: str,
        manifest: Manifest,
        extras: dict[str, Any],
        infos: list[DocumentInfo],
        ef_search: int,
    ) -> None:
        self._conn = conn
        self._prefix = prefix
        self._version = version
        self._manifest = manifest
        self._infos = infos
        self._ef_search = ef_search
        self._max_idf = float(extras.get("max_idf", 1.0))
        self._idf: dict[str, float] = {}
        self._idf_lock = threading.Lock()
        self.names = {kind: collection_name(prefix, kind, version) for kind in KINDS}
        self.closed = False

    @classmethod
    def open(
        cls, conn: MilvusConnection, prefix: str, version: str, ef_search: int
    ) -> MilvusReader:
        """Load and check one version; ``IndexDamagedError`` when it is not complete."""
        names = {kind: collection_name(prefix, kind, version) for kind in KINDS}
        try:
            info = conn.call("describe_collection", names["chunks"])
            raw = (info.get("properties") or {}).get(MANIFEST_PROPERTY)
            if not raw:
                raise IndexDamagedError(version, "未发布 (not published: no manifest)")
            extras = json.loads(raw)
            manifest = Manifest(**extras.pop("manifest"))
            for name in names.values():
                conn.call("load_collection", name)
            rows = conn.query_all(names["docs"], "piece == 0", DOC_META_FIELDS)
            count = conn.loaded_call(
                names["chunks"], "query", filter="", output_fields=["count(*)"]
            )
        except MilvusException as exc:
            if is_missing(exc):
                reason = f"集合缺失 (missing collection: {exc.message})"
                raise IndexDamagedError(version, reason) from exc
            raise IndexDamagedError(version, str(exc.message)) from exc
        infos = sorted(
            (
                DocumentInfo(
                    r["doc_id"],
                    r["title"],
                    int(r["chunks"]),
                    r["content_hash"],
                    r["indexed_at"],
                    int(r["chars"]),
                    ocr=bool(r.get("ocr")),
                )
                for r in rows
            ),
            key=lambda d: d.doc_id,
        )
        manifest.documents = {
            d.doc_id: DocEntry(d.content_hash, d.title, d.chunks, d.indexed_at) for d in infos
        }
        stored = int(count[0]["count(*)"]) if count else 0
        if stored != manifest.chunks or len(infos) != extras.get("document_count"):
            raise IndexDamagedError(
                version,
                f"数量不一致 (counts disagree: {stored} chunks for {manifest.chunks}, "
                f"{len(infos)} documents for {extras.get('document_count')})",
            )
        return cls(conn, prefix, version, manifest, extras, infos, ef_search)

    # --- IndexReader ---------------------------------------------------------------------
    @property
    def version(self) -> str:
        return self._version

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    @property
    def chunk_count(self) -> int:
        return self._manifest.chunks

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        limit = min(k, self.chunk_count, QUERY_LIMIT)
        if limit <= 0:
            return []
        params: dict[str, Any] = {"metric_type": "IP"}
        if self._manifest.dense_index == "hnsw":
            params["params"] = {"ef": max(self._ef_search, limit)}
        query = np.asarray(vector, dtype=np.float32).reshape(-1).tolist()
        hits = self._search(query, "vector", limit, params)
        return _best_first((int(h["id"]), float(h["distance"])) for h in hits)

    def lexical_search(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        words = list(dict.fromkeys(w for w in (encode_token(t) for t in terms) if w))
        limit = min(k, self.chunk_count, QUERY_LIMIT)
        if not words or limit <= 0:
            return []
        self._prefetch_idf(words)
        hits = self._search(" ".join(words), "sparse", limit, {"metric_type": "BM25"})
        # Milvus Lite reports BM25 as a negative distance, a server as a positive score; both
        # include the (k1 + 1) factor that bm25s' Lucene variant leaves out: divide it out, so
        # scores equal the local store's (tested).
        scale = BM25_PARAMS["bm25_k1"] + 1.0
        scored = [(int(h["id"]), abs(float(h["distance"])) / scale) for h in hits]
        return _best_first((cid, score) for cid, score in scored if score > 0)

    def vectors(self, chunk_ids: Sequence[int]) -> np.ndarray:
        dim = self._manifest.dim
        ids = [int(i) for i in chunk_ids]
        if not ids:
            return np.zeros((0, dim), dtype=np.float32)
        found = {int(r["id"]): r["vector"] for r in self._by_ids(ids, ["id", "vector"])}
        missing = [i for i in ids if i not in found]
        if missing:
            raise KeyError(missing[0])
        return np.asarray([found[i] for i in ids], dtype=np.float32).reshape(len(ids), dim)

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, Chunk]:
        ids = list(dict.fromkeys(int(i) for i in chunk_ids))
        fields = [*CHUNK_FIELDS, STATES_FIELD] if self._manifest.sentence_states else CHUNK_FIELDS
        return {int(r["id"]): chunk_from_row(r) for r in self._by_ids(ids, fields)}

    def term_idf(self, term: str) -> float:
        word = encode_token(term)
        with self._idf_lock:
            cached = self._idf.get(word)
        if cached is None:
            self._prefetch_idf([word])
            with self._idf_lock:
                cached = self._idf[word]
        return cached

    def documents(self) -> list[DocumentInfo]:
        return list(self._infos)

    def document(self, doc_id: str) -> StoredDocument | None:
        fields = ["doc_id", "piece", "data", "title", "content_hash", "indexed_at", "ocr"]
        rows = self._conn.query_all(self.names["docs"], filter_equals("doc_id", doc_id), fields)
        return document_from_rows(rows) if rows else None

    def doc_chunk_ids(self, doc_id: str) -> list[int]:
        rows = self._conn.query_all(
            self.names["chunks"], filter_equals("doc_id", doc_id), ["id", "start"]
        )
        return [int(r["id"]) for r in sorted(rows, key=lambda r: (int(r["start"]), int(r["id"])))]

    @property
    def verification_pending(self) -> bool:
        return False  # Milvus keeps its own segments whole: nothing is left for later

    def verify_contents(self) -> bool:
        """Nothing deferred: Milvus keeps its own segments whole."""
        return False

    def close(self) -> None:
        self.closed = True  # collections stay loaded: other processes may be serving them

    # --- helpers -------------------------------------------------------------------------
    def _search(
        self, data: Any, field: str, limit: int, params: dict[str, Any]
    ) -> list[dict[str, Any]]:
        result = self._conn.loaded_call(
            self.names["chunks"],
            "search",
            data=[data],
            anns_field=field,
            limit=limit,
            output_fields=["id"],
            search_params=params,
        )
        return list(result[0]) if result else []

    def _by_ids(self, ids: list[int], fields: list[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for start in range(0, len(ids), _ID_BATCH):
            batch = ids[start : start + _ID_BATCH]
            rows.extend(
                self._conn.loaded_call(
                    self.names["chunks"], "query", ids=batch, output_fields=fields
                )
            )
        return rows

    def _prefetch_idf(self, words: list[str]) -> None:
        """One query for the document frequencies of all uncached words."""
        with self._idf_lock:
            todo = [w for w in dict.fromkeys(words) if w not in self._idf]
        if not todo:
            return
        rows = self._conn.loaded_call(
            self.names["terms"], "query", ids=todo, output_fields=["term", "df"]
        )
        df = {r["term"]: int(r["df"]) for r in rows}
        n = self.chunk_count
        with self._idf_lock:
            if len(self._idf) > _IDF_CACHE_MAX:
                self._idf.clear()
            for word in todo:
                count = df.get(word)
                self._idf[word] = (
                    self._max_idf + 1.0
                    if count is None
                    else math.log(1.0 + (n - count + 0.5) / (count + 0.5))
                )


def _best_first(pairs: Iterable[tuple[int, float]]) -> list[tuple[int, float]]:
    """Highest score first; equal scores (common in BM25) in chunk-id order, so results
    do not depend on the order Milvus happens to return ties in."""
    return sorted(pairs, key=lambda p: (-p[1], p[0]))
