"""Dense side of hybrid search: FAISS inner product over L2-normalized vectors.

Exact search (IndexFlatIP) up to ``ann_threshold`` chunks; HNSW above it, where exact
search's linear scan starts to dominate query time (see bench/scale.py for the figures).
FAISS positions are private to the local store: rows of the version's ``ids.npy`` map
them to chunk ids, and vectors are read from ``vectors.npy``, never reconstructed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np


@dataclass(frozen=True)
class DenseParams:
    """The settings the dense index needs (from ``Settings``, created at entry points)."""

    ann_threshold: int = 100_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 256


def new_dense_index(dim: int, n: int, params: DenseParams) -> faiss.Index:
    """An empty index of the right kind for ``n`` vectors."""
    if n > params.ann_threshold:
        index = faiss.IndexHNSWFlat(dim, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.hnsw_ef_construction
        index.hnsw.efSearch = params.hnsw_ef_search
        return index
    return faiss.IndexFlatIP(dim)


def build_dense_index(vectors: np.ndarray, params: DenseParams) -> faiss.Index:
    """An index whose positions are the row numbers of ``vectors``."""
    n, dim = vectors.shape
    index = new_dense_index(dim, n, params)
    add_vectors(index, vectors)
    return index


def add_vectors(index: faiss.Index, vectors: np.ndarray, block: int = 65536) -> None:
    """Append rows (in blocks, so a memory-mapped array is never copied whole)."""
    for start in range(0, len(vectors), block):
        index.add(np.ascontiguousarray(vectors[start : start + block], dtype=np.float32))


def index_kind(index: faiss.Index) -> str:
    return "hnsw" if isinstance(index, faiss.IndexHNSWFlat) else "flat"


def save_dense_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_dense_index(path: Path, ef_search: int) -> faiss.Index:
    index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = ef_search
    return index


def dense_search(index: faiss.Index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k positions and cosine scores for one L2-normalized query vector."""
    if index.ntotal == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    k = min(k, index.ntotal)
    scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
    keep = ids[0] >= 0
    return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)
