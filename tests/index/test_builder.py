from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from wenda.index.builder import build_index
from wenda.index.embedding.base import HashingEmbedder
from wenda.index.errors import BuildInProgressError
from wenda.index.settings import Settings
from wenda.index.store.lexical import ChineseTokenizer
from wenda.index.store.local import LocalStore
from wenda.index.store.local_reader import LocalReader
from wenda.index.store.versions import VersionStore

from tests.conftest import REPO


class CountingEmbedder(HashingEmbedder):
    """The real hashing embedder, counting how many passages it was asked to embed."""

    def __init__(self, dim: int = 256) -> None:
        super().__init__(dim)
        self.embedded = 0

    def encode_passages(self, texts, batch_size=32, show_progress=False) -> np.ndarray:
        self.embedded += len(texts)
        return super().encode_passages(texts, batch_size, show_progress)


def _build(settings: Settings, embedder=None, **kw):
    return build_index(settings, embedder or HashingEmbedder(), ChineseTokenizer(), **kw)


def _snapshot(settings: Settings) -> LocalReader:
    store = LocalStore(settings.index_dir)
    version = store.current()
    assert version is not None
    return store.open(version)


def test_incremental_reindex_embeds_only_changed_documents(hashing_settings: Settings) -> None:
    corpus = hashing_settings.corpus_dir
    emb = CountingEmbedder()
    first = _build(hashing_settings, emb)
    assert first.published and first.full_rebuild
    assert len(first.added) == 2 and first.chunks_embedded == first.chunks_total == emb.embedded

    # nothing changed: nothing embedded, nothing published
    emb.embedded = 0
    same = _build(hashing_settings, emb)
    assert not same.published and same.version == first.version and emb.embedded == 0

    # change one document, add one, remove none
    target = sorted(corpus.glob("*.txt"))[1]
    target.write_text(
        target.read_text("utf-8") + "\n\n新增一句：测试专用的独特事实共有777项。\n", "utf-8"
    )
    (corpus / "new.txt").write_text(
        "新文档\n这是一个新加入的文档，其中记载了4242个样本。\n", "utf-8"
    )
    emb.embedded = 0
    second = _build(hashing_settings, emb)
    snap = _snapshot(hashing_settings)
    changed_chunks = snap.manifest.documents[target.name].chunks
    new_chunks = snap.manifest.documents["new.txt"].chunks
    assert second.changed == [target.name] and second.added == ["new.txt"]
    assert len(second.unchanged) == 1
    assert emb.embedded == second.chunks_embedded == changed_chunks + new_chunks
    assert second.chunks_total == snap.chunk_count

    # vectors reused for the unchanged document equal freshly computed ones
    unchanged = second.unchanged[0]
    ids = snap.doc_chunk_ids(unchanged)
    reused = snap.vectors(ids)
    from wenda.index.builder import _passage_text

    chunks = snap.chunks(ids)
    fresh = HashingEmbedder().encode_passages([_passage_text(chunks[i]) for i in ids])
    np.testing.assert_allclose(reused, fresh, atol=1e-6)
    # and FAISS agrees: each reused vector finds itself first
    assert [snap.dense_search(v, 1)[0][0] for v in reused] == ids

    # remove a document
    (corpus / "new.txt").unlink()
    third = _build(hashing_settings, emb)
    assert third.removed == ["new.txt"] and third.chunks_embedded == 0
    assert "new.txt" not in _snapshot(hashing_settings).manifest.documents


def test_model_or_chunker_change_forces_full_rebuild(hashing_settings: Settings) -> None:
    _build(hashing_settings)
    report = _build(hashing_settings, HashingEmbedder(128))
    assert report.full_rebuild and report.chunks_embedded == report.chunks_total
    resized = hashing_settings.model_copy(update={"chunk_target_chars": 150})
    report = _build(resized, HashingEmbedder(128))
    assert report.full_rebuild and report.published


class StatelessEmbedder(HashingEmbedder):
    """An embedder that cannot pool sentence states (as sentence-transformers under torch)."""

    sentence_states = False
    encode_passages_with_states = None  # type: ignore[assignment]


def test_chunks_carry_sentence_states_and_gaining_them_forces_a_full_rebuild(
    hashing_settings: Settings,
) -> None:
    """An index built without sentence states is rebuilt in full once the embedder has them
    (the manifest records it); unchanged documents then keep them through copies."""
    from wenda.index.embedding.sentence_states import unpack
    from wenda.index.ingest.sentences import split_sentences

    first = _build(hashing_settings, StatelessEmbedder())
    reader = _snapshot(hashing_settings)
    assert not reader.manifest.sentence_states
    assert all(c.states is None for c in reader.chunks(list(reader.ids)).values())
    reader.close()
    second = _build(hashing_settings)
    assert second.full_rebuild and second.chunks_embedded == first.chunks_total
    (hashing_settings.corpus_dir / "extra.txt").write_text("新增文档。只有两句。", "utf-8")
    third = _build(hashing_settings)
    assert not third.full_rebuild and third.chunks_embedded == 1
    reader = _snapshot(hashing_settings)
    try:
        assert reader.manifest.sentence_states
        chunks = reader.chunks(list(reader.ids)).values()
        assert len(chunks) == third.chunks_total
        for chunk in chunks:
            states = unpack(chunk.states, 256, len(split_sentences(chunk.text)))
            assert states is not None and np.abs(states).sum() > 0
    finally:
        reader.close()


def test_failure_midway_leaves_previous_index_serving(hashing_settings: Settings) -> None:
    first = _build(hashing_settings)
    (hashing_settings.corpus_dir / "extra.txt").write_text("额外文档\n内容一句。\n", "utf-8")

    def explode(stage: str, done: int, total: int) -> None:
        if stage == "write" and done == 0:
            raise RuntimeError("simulated crash while writing")

    with pytest.raises(RuntimeError):
        _build(hashing_settings, progress=explode)
    store = VersionStore(hashing_settings.index_dir)
    assert store.current() == first.version
    assert _snapshot(hashing_settings).chunk_count == first.chunks_total
    again = _build(hashing_settings)
    assert again.published and again.added == ["extra.txt"]
    assert not [p for p in store.versions_dir.iterdir() if p.name.startswith(".staging")]


def test_killed_build_process_leaves_previous_index_loadable(
    hashing_settings: Settings, tmp_path: Path
) -> None:
    first = _build(hashing_settings)
    big = hashing_settings.corpus_dir / "big"
    big.mkdir()
    text = (REPO / "corpus").glob("*.txt").__next__().read_text("utf-8")
    for i in range(30):
        (big / f"copy{i:03d}.txt").write_text(f"副本{i}\n{text}", "utf-8")
    env = {
        **os.environ,
        "WENDA_CORPUS_DIR": str(hashing_settings.corpus_dir),
        "WENDA_INDEX_DIR": str(hashing_settings.index_dir),
        "WENDA_MODEL": "hashing",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "wenda.index.cli", "index"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = VersionStore(hashing_settings.index_dir)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name.startswith(".staging") for p in store.versions_dir.iterdir()):
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # Whether it died before or after publishing, CURRENT names a complete, loadable version.
    current = store.current()
    snap = LocalStore(hashing_settings.index_dir).open(current)  # verifies every file and count
    assert snap.chunk_count == snap.dense.ntotal == len(snap.ids)
    if current == first.version:
        assert snap.chunk_count == first.chunks_total
    report = _build(hashing_settings)  # the next build recovers and cleans up
    assert store.current() == report.version
    assert not [p for p in store.versions_dir.iterdir() if p.name.startswith(".staging")]


def test_bad_files_are_skipped_and_changed_unreadable_doc_is_kept(
    hashing_settings: Settings,
) -> None:
    corpus = hashing_settings.corpus_dir
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02garbage\x00")
    (corpus / "empty.md").write_text("", "utf-8")
    report = _build(hashing_settings)
    skipped = dict(report.skipped)
    assert {"binary.txt", "empty.md"} <= set(skipped)
    assert len(report.added) == 2

    victim = sorted(corpus.glob("*.txt"))[-1]
    victim.write_bytes(b"\x00" * 64)  # the document breaks on disk
    report = _build(hashing_settings)
    assert victim.name in dict(report.skipped)
    assert victim.name in _snapshot(hashing_settings).manifest.documents


def test_concurrent_build_is_refused(hashing_settings: Settings) -> None:
    store = VersionStore(hashing_settings.index_dir)
    with store.build_lock(), pytest.raises(BuildInProgressError):
        _build(hashing_settings)


def test_build_after_rollback_continues_from_the_rolled_back_version(
    hashing_settings: Settings,
) -> None:
    first = _build(hashing_settings)
    (hashing_settings.corpus_dir / "bad.txt").write_text("坏版本\n不该保留的内容。\n", "utf-8")
    second = _build(hashing_settings)
    store = LocalStore(hashing_settings.index_dir)
    assert store.rollback() == first.version and store.published() == [first.version]
    (hashing_settings.corpus_dir / "bad.txt").unlink()
    (hashing_settings.corpus_dir / "good.txt").write_text("好版本\n新的内容。\n", "utf-8")
    emb = CountingEmbedder()
    third = _build(hashing_settings, emb)
    assert third.added == ["good.txt"] and third.removed == []  # relative to the first version
    assert emb.embedded == third.chunks_embedded < third.chunks_total
    assert store.published() == [first.version, third.version]
    assert second.version not in [p.name for p in store.versions.versions_dir.iterdir()]
