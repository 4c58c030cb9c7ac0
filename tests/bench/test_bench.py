"""Keep the benchmark scripts runnable: their helpers on tiny data, never timing asserts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from wenda.index.settings import Settings

from bench.build import StageTimer, make_corpus
from bench.cmrc import bm25_window_baseline, doc_id_for, eval_items, load_cmrc, write_corpus
from bench.common import md_table, percentile
from bench.scale import clustered_vectors, crossover, measure

SQUAD = {
    "version": "v1.0",
    "data": [
        {
            "title": "成都",
            "paragraphs": [
                {
                    "id": "P_1",
                    "context": "成都是四川省省会，别称蓉城。成都有大熊猫繁育研究基地。",
                    "qas": [
                        {
                            "id": "P_1_Q0",
                            "question": "成都的别称是什么？",
                            "answers": [{"text": "蓉城", "answer_start": 9}],
                        },
                        {"id": "P_1_Q1", "question": " ", "answers": [{"text": "x"}]},
                    ],
                }
            ],
        },
        {
            "title": "重庆",
            "paragraphs": [
                {
                    "id": "P_2",
                    "context": "重庆是直辖市，别称山城，长江和嘉陵江在此交汇。",
                    "qas": [
                        {
                            "id": "P_2_Q0",
                            "question": "重庆的别称是什么？",
                            "answers": [{"text": "山城", "answer_start": 9}],
                        }
                    ],
                }
            ],
        },
    ],
}


def _squad_file(tmp_path: Path) -> Path:
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), "utf-8")
    return path


def test_percentile_nearest_rank() -> None:
    values = list(range(1, 201))
    assert percentile(values, 50) == 100
    assert percentile(values, 99) == 198
    assert percentile([5.0], 99) == 5.0


def test_md_table_shape() -> None:
    text = md_table(["a", "b"], [(1, 0.5), ("x", 1234.0)])
    assert text.splitlines()[1] == "|---|---|"
    assert "| x | 1,234 |" in text


def test_cmrc_corpus_maps_questions_to_documents(tmp_path: Path) -> None:
    paragraphs = load_cmrc(_squad_file(tmp_path))
    items = eval_items(paragraphs)
    assert [i.id for i in items] == ["P_1_Q0", "P_2_Q0"]  # blank question skipped
    assert items[0].doc_id == doc_id_for("P_1") == "P_1.txt"
    write_corpus(paragraphs, tmp_path / "corpus")
    text = (tmp_path / "corpus" / "P_2.txt").read_text("utf-8")
    assert text.splitlines()[0] == "重庆"
    assert "山城" in text


def test_bm25_baseline_finds_the_gold_paragraph(tmp_path: Path) -> None:
    paragraphs = load_cmrc(_squad_file(tmp_path))
    metrics = bm25_window_baseline(paragraphs, eval_items(paragraphs))
    assert metrics["n"] == 2
    assert metrics["hit@5"] == 1.0


def test_synthetic_vectors_are_normalized_and_clustered() -> None:
    data = clustered_vectors(2000, clusters=20)
    assert data.shape == (2000, 384)
    assert np.allclose(np.linalg.norm(data, axis=1), 1.0, atol=1e-4)
    sims = data[:200] @ data[:200].T
    assert sims.max() > 0.5  # points share clusters, unlike uniform random vectors


def test_scale_measure_reports_recall_against_exact() -> None:
    data = clustered_vectors(3000, clusters=30)
    queries = clustered_vectors(20, clusters=30, draw_seed=1)
    settings = Settings(_env_file=None, ann_threshold=0, hnsw_ef_construction=16)
    exact = measure("flat", data, queries, None, settings, budget_s=0.5)
    truth = np.stack([np.argsort(-(data @ q))[:10] for q in queries])
    approx = measure("hnsw", data, queries, truth, settings, budget_s=0.5, ef_sweep=(16,))
    assert exact.recall10 == 1.0
    assert 0.5 < approx.recall10 <= 1.0
    assert approx.ef_sweep and approx.ef_sweep[0][0] == 16
    assert crossover([exact], 10.0) > 0


def test_build_corpus_and_stage_timer(tmp_path: Path) -> None:
    chars = make_corpus(tmp_path / "docs", 5)
    files = sorted((tmp_path / "docs").glob("*.txt"))
    assert len(files) == 5
    assert chars == sum(len(f.read_text("utf-8")) for f in files)
    timer = StageTimer()
    for stage, t in (("scan", 1.0), ("embed", 3.0), ("embed", 4.0)):
        timer.starts.setdefault(stage, t)
    assert timer.durations(0.5, 6.0) == {"setup": 0.5, "scan": 2.0, "embed": 3.0}


def test_cmrc_and_seeds_runs_end_to_end_with_test_embedder(tmp_path: Path) -> None:
    """The whole quality path (corpus, index, every mode, tables) on the hashing embedder."""
    from wenda.index.embedding.base import HashingEmbedder

    from bench.cmrc import run_cmrc
    from bench.quality import core_modes, run_seeds

    embedder = HashingEmbedder()
    text, rows = run_cmrc(embedder, tmp_path / "cmrc", _squad_file(tmp_path))
    assert [r.mode for r in rows] == core_modes()
    assert all(r.result.n == 2 for r in rows)
    assert "baseline: jieba+BM25" in text
    text, rows = run_seeds(embedder, tmp_path / "seeds")
    assert "unanswerable" in text
    assert rows[0].result.n > 0
