"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates fused by reciprocal rank.

RRF needs no score calibration between the two retrievers, and a passage that both rank
highly wins. The reported score is the fused score divided by its maximum (a passage
ranked first by every active retriever scores 1.0), so it is comparable across queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from index.snapshot import Snapshot
from index.vector_index import dense_search

Mode = Literal["hybrid", "dense", "bm25"]


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    score: float  # normalized fused score in [0, 1]
    dense_rank: int | None  # 0-based rank among dense candidates
    lexical_rank: int | None
    dense_score: float | None  # cosine similarity, when known


def retrieve(
    snapshot: Snapshot,
    query_vector: np.ndarray | None,
    query_terms: list[str],
    k: int,
    mode: Mode = "hybrid",
    candidate_k: int = 50,
    rrf_k: int = 60,
) -> list[Hit]:
    """Top ``k`` hits. ``query_vector`` may be None only in ``bm25`` mode."""
    dense_ids: np.ndarray = np.zeros(0, dtype=np.int64)
    dense_scores: np.ndarray = np.zeros(0, dtype=np.float32)
    lex_ids: np.ndarray = np.zeros(0, dtype=np.int64)
    if mode in ("hybrid", "dense"):
        assert query_vector is not None
        dense_ids, dense_scores = dense_search(snapshot.dense, query_vector, candidate_k)
    if mode in ("hybrid", "bm25"):
        lex_ids, _ = snapshot.lexical.search(query_terms, candidate_k)

    fused: dict[int, float] = {}
    dense_rank: dict[int, int] = {}
    lex_rank: dict[int, int] = {}
    cosine: dict[int, float] = {}
    for rank, (cid, score) in enumerate(
        zip(dense_ids.tolist(), dense_scores.tolist(), strict=True)
    ):
        fused[cid] = fused.get(cid, 0.0) + 1.0 / (rrf_k + rank + 1)
        dense_rank[cid] = rank
        cosine[cid] = float(score)
    for rank, cid in enumerate(lex_ids.tolist()):
        fused[cid] = fused.get(cid, 0.0) + 1.0 / (rrf_k + rank + 1)
        lex_rank[cid] = rank

    active = 2 if mode == "hybrid" else 1
    best_possible = active / (rrf_k + 1)
    ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
    if query_vector is not None and ranked:
        missing = [cid for cid, _ in ranked if cid not in cosine]
        if missing:  # lexical-only hits: score them densely too, for answerability
            vecs = snapshot.dense.reconstruct_batch(np.array(missing, dtype=np.int64))
            for cid, sim in zip(missing, (vecs @ query_vector).tolist(), strict=True):
                cosine[cid] = float(sim)
    return [
        Hit(
            chunk_id=cid,
            score=round(score / best_possible, 4),
            dense_rank=dense_rank.get(cid),
            lexical_rank=lex_rank.get(cid),
            dense_score=cosine.get(cid),
        )
        for cid, score in ranked
    ]
