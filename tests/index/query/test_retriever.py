from __future__ import annotations

import pytest
from wenda.index.core import Wenda
from wenda.index.models import MODES
from wenda.index.query.retrieve import RERANK_DEPTH, retrieve
from wenda.index.settings import Settings


@pytest.fixture
def core(hashing_settings: Settings) -> Wenda:
    wenda = Wenda.open(hashing_settings)
    yield wenda
    wenda.close()


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_returns_k_scored_hits(core: Wenda, mode: str) -> None:
    question = "中欧班列（成渝）号今年1—4月开行了多少列？"
    vector = None if mode == "bm25" else core.embedder.encode_queries([question])[0]
    with core.lease() as reader:
        hits = retrieve(reader, vector, core.tokenizer.query_terms(question), 5, mode)
    assert len(hits) == 5
    assert len({h.chunk_id for h in hits}) == 5
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    if mode != "bm25":  # every hit gets a cosine, also those only BM25 found
        assert all(h.dense_score is not None for h in hits)


def test_rerank_orders_by_normalized_score_sum(core: Wenda) -> None:
    question = "川渝两地住院费用直接结算的定点医疗机构有多少家？"
    vector = core.embedder.encode_queries([question])[0]
    terms = core.tokenizer.query_terms(question)
    with core.lease() as snap:
        # asking for exactly the rerank depth returns the whole candidate set it normalized over
        hits = retrieve(snap, vector, terms, RERANK_DEPTH, "hybrid+rerank")
        assert len(hits) == RERANK_DEPTH
        bm25 = dict(snap.lexical_search(terms, snap.chunk_count))
        top = max(bm25.values())
        cos = [h.dense_score for h in hits]
        # recompute the documented formula for the returned candidates
        lo, hi = min(cos), max(cos)
        expected = [
            0.5 * bm25.get(h.chunk_id, 0.0) / top + 0.5 * (h.dense_score - lo) / (hi - lo)
            for h in hits
        ]
        assert expected == sorted(expected, reverse=True)
        assert "5182家" in snap.chunks([hits[0].chunk_id])[hits[0].chunk_id].text


def test_bm25_mode_answers_using_coverage_alone(core: Wenda) -> None:
    answer = core.ask("川渝两地住院费用直接结算的定点医疗机构有多少家？", mode="bm25")
    assert answer.answerable and "5182家" in answer.answer
    assert answer.best_cosine is None
