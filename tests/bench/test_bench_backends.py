"""``bench/backends.py`` stays runnable: both backends on a tiny SQuAD file (no timing asserts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wenda.index.embedding.base import load_embedder
from wenda.index.settings import Settings

from tests.bench.test_bench import SQUAD

pytest.importorskip("pymilvus", reason="the milvus extra is not installed")


def test_backend_table_on_tiny_data(tmp_path: Path) -> None:
    from bench.backends import run_backends

    squad = tmp_path / "squad.json"
    squad.write_text(json.dumps(SQUAD, ensure_ascii=False), "utf-8")
    embedder = load_embedder(Settings(_env_file=None, model="hashing"))
    text, (local, milvus) = run_backends(embedder, tmp_path / "work", path=squad)
    assert local.chunks == milvus.chunks == 2
    assert local.metrics == milvus.metrics and local.metrics["hit@1"] == 1.0
    assert local.top1 == milvus.top1
    assert "| Milvus (milvus-lite server, gRPC) | 2 | 1.000 |" in text
