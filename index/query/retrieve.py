"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates, fused, then reranked.

Stage 1, reciprocal rank fusion, needs no score calibration between the two retrievers
and picks a robust candidate set. Stage 2 (mode ``hybrid+rerank``, the default) reorders
those candidates by an equal-weight sum of the two normalized scores, so that how much
better a passage matches, not only its rank, counts: on CMRC this lifts hit@1 from 0.86
(RRF) to 0.90 (see the README's ablation table).

The reported score is in [0, 1]: for RRF modes the fused score over its maximum (a passage
ranked first by every active retriever scores 1.0); after the rerank, the rerank score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from wenda.index.models import MODES, Mode
from wenda.index.store.base import IndexReader

__all__ = ["MODES", "Hit", "Mode", "retrieve"]
RERANK_DEPTH = 30  # RRF candidates the rerank reorders
LEXICAL_WEIGHT = 0.5  # equal weights; a 0.4–0.6 sweep on CMRC moves hit@1 by < 0.01
LEXICAL_DEPTH_FACTOR = 1
"""BM25 scores are fetched for this many × candidate_k chunks; the rerank counts 0 for
candidates outside them. Measured (bench/store_bench.py lexdepth, CMRC trial): hit@1 0.907 at
1×, 2× and every chunk alike, so the lexical top-k is enough."""


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    score: float  # in [0, 1], see module docstring
    dense_rank: int | None  # 0-based rank among dense candidates
    lexical_rank: int | None
    dense_score: float | None  # cosine similarity, when known


def retrieve(
    snapshot: IndexReader,
    query_vector: np.ndarray | None,
    query_terms: list[str],
    k: int,
    mode: Mode = "hybrid+rerank",
    candidate_k: int = 50,
    rrf_k: int = 60,
    lexical_hits: list[tuple[int, float]] | None = None,
) -> list[Hit]:
    """Top ``k`` hits. ``query_vector`` may be None only in ``bm25`` mode.

    ``lexical_hits``: ``lexical_candidates`` already run (the pipeline runs it beside the
    encoder); otherwise it runs here."""
    use_dense = mode != "bm25"
    use_lexical = mode != "dense"
    dense_hits: list[tuple[int, float]] = []
    if use_dense:
        assert query_vector is not None
        dense_hits = snapshot.dense_search(query_vector, candidate_k)
    if lexical_hits is None:
        lexical_hits = lexical_candidates(snapshot, query_terms, mode, candidate_k)
    bm25 = dict(lexical_hits)  # BM25 of the rerank's candidates; 0 outside the lexical top
    lexical_hits = lexical_hits[:candidate_k]

    fused: dict[int, float] = {}
    dense_rank = {cid: r for r, (cid, _) in enumerate(dense_hits)}
    lex_rank = {cid: r for r, (cid, _) in enumerate(lexical_hits)}
    cosine = dict(dense_hits)
    for ranks in (dense_rank, lex_rank):
        for cid, rank in ranks.items():
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (rrf_k + rank + 1)
    best_possible = (int(use_dense) + int(use_lexical)) / (rrf_k + 1)
    ranked = sorted(fused, key=lambda cid: (-fused[cid], cid))
    depth = max(k, RERANK_DEPTH) if mode == "hybrid+rerank" else k
    ranked = ranked[:depth]
    if query_vector is not None:
        _fill_cosines(snapshot, query_vector, ranked, cosine)
    scores = {cid: fused[cid] / best_possible for cid in ranked}
    if mode == "hybrid+rerank" and ranked:
        scores = _rerank_scores(ranked, cosine, bm25)
        ranked.sort(key=lambda cid: (-scores[cid], cid))
    return [
        Hit(
            chunk_id=cid,
            score=round(float(scores[cid]), 4),
            dense_rank=dense_rank.get(cid),
            lexical_rank=lex_rank.get(cid),
            dense_score=cosine.get(cid),
        )
        for cid in ranked[:k]
    ]


def lexical_candidates(
    snapshot: IndexReader, query_terms: list[str], mode: Mode, candidate_k: int
) -> list[tuple[int, float]]:
    """The BM25 side of ``retrieve``: needs no query vector, so it can run during the encode."""
    if mode == "dense":
        return []
    return snapshot.lexical_search(query_terms, LEXICAL_DEPTH_FACTOR * candidate_k)


def _fill_cosines(
    snapshot: IndexReader, query: np.ndarray, ids: list[int], cosine: dict[int, float]
) -> None:
    """Cosine for candidates only the lexical side found (from the stored vectors)."""
    missing = [cid for cid in ids if cid not in cosine]
    if missing:
        vectors = snapshot.vectors(missing)
        cosine.update(zip(missing, (vectors @ query).tolist(), strict=True))


def _rerank_scores(
    ids: list[int], cosine: dict[int, float], bm25: dict[int, float]
) -> dict[int, float]:
    """Equal-weight sum of BM25 / max BM25 and min-max normalized cosine, in [0, 1]."""
    top_bm25 = max(bm25.values(), default=0.0)
    cos = np.array([cosine.get(cid, 0.0) for cid in ids], dtype=np.float64)
    lo, hi = float(cos.min()), float(cos.max())
    dense_part = (cos - lo) / (hi - lo) if hi > lo else np.ones_like(cos)
    lex_part = np.array(
        [bm25.get(cid, 0.0) / top_bm25 if top_bm25 > 0 else 0.0 for cid in ids], dtype=np.float64
    )
    mixed = LEXICAL_WEIGHT * lex_part + (1.0 - LEXICAL_WEIGHT) * dense_part
    return dict(zip(ids, mixed.tolist(), strict=True))
