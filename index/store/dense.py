"""Dense side of hybrid search: FAISS over L2-normalized vectors with inner product.

Exact search (IndexFlatIP) up to ``ann_threshold`` chunks; HNSW above it, where exact
search's linear scan starts to dominate query time (see bench/scale.py for the figures).
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
from wenda.index.settings import Settings


def build_dense_index(vectors: np.ndarray, settings: Settings) -> faiss.Index:
    """An index whose ids are the row numbers of ``vectors`` (= chunk ids)."""
    n, dim = vectors.shape
    if n > settings.ann_threshold:
        index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = settings.hnsw_ef_construction
        index.hnsw.efSearch = settings.hnsw_ef_search
    else:
        index = faiss.IndexFlatIP(dim)
    if n:
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def index_kind(index: faiss.Index) -> str:
    return "hnsw" if isinstance(index, faiss.IndexHNSWFlat) else "flat"


def save_dense_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_dense_index(path: Path, settings: Settings) -> faiss.Index:
    index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = settings.hnsw_ef_search
    return index


def dense_search(index: faiss.Index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k chunk ids and cosine scores for one L2-normalized query vector."""
    if index.ntotal == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    k = min(k, index.ntotal)
    scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
    keep = ids[0] >= 0
    return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)
