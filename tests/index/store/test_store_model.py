"""The store features with the real default model: incremental copy, damaged newest
version, reader release — end to end on the seed corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from wenda.index.core import Wenda
from wenda.index.embedding.base import load_embedder
from wenda.index.settings import Settings
from wenda.index.store.local import LocalStore

pytestmark = pytest.mark.model
QUESTION = "川渝两地住院费用直接结算的定点医疗机构有多少家？"


def test_incremental_build_damage_fallback_and_release_with_the_default_model(
    seed_corpus: Path, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, corpus_dir=seed_corpus, index_dir=tmp_path / "idx")
    embedder = load_embedder(settings)
    core = Wenda.open(settings, embedder=embedder)
    try:
        first = core.version
        with core.lease() as reader:
            doc_id = reader.documents()[0].doc_id
            ids = reader.doc_chunk_ids(doc_id)
            before = reader.vectors(ids)
        (seed_corpus / "新增.txt").write_text(
            "新增文档\n成都东部新区今年新开工项目共有88个。\n", "utf-8"
        )
        report = core.reindex()
        assert report.added == ["新增.txt"] and report.chunks_embedded < report.chunks_total
        assert core.version == report.version and core.open_readers() == 1
        with core.lease() as reader:  # unchanged documents: same ids, vectors not recomputed
            assert reader.doc_chunk_ids(doc_id) == ids
            np.testing.assert_array_equal(reader.vectors(ids), before)
        assert "88个" in core.ask("成都东部新区今年新开工项目有多少个？").answer
    finally:
        core.close()

    store = LocalStore(settings.index_dir)
    sqlite = store.versions.path(report.version) / "chunks.sqlite"
    sqlite.write_bytes(sqlite.read_bytes()[:4096])  # truncated: the newest version is damaged
    core = Wenda.open(settings, embedder=embedder, build_if_missing=False)
    try:
        assert core.version == first and core.status().degraded
        answer = core.ask(QUESTION)
        assert answer.answerable and "5182家" in answer.answer
    finally:
        core.close()
