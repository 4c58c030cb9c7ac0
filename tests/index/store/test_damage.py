"""Damaged index versions on disk (issue 10, items 6 and 8): real files, real processes.

A damaged newest version must never serve or fail requests: the newest intact one serves
and ``status().degraded`` says why; orphan directories never cost the rollback version.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from wenda.index.builder import build_index
from wenda.index.core import Wenda
from wenda.index.embedding.base import HashingEmbedder
from wenda.index.errors import IndexDamagedError, IndexNotReadyError
from wenda.index.settings import Settings
from wenda.index.store import integrity
from wenda.index.store.lexical import ChineseTokenizer
from wenda.index.store.local import LocalStore

from tests.conftest import REPO

QUESTION = "川渝两地住院费用直接结算的定点医疗机构有多少家？"


def _build(settings: Settings) -> str:
    return build_index(settings, HashingEmbedder(), ChineseTokenizer()).version


def _two_versions(settings: Settings) -> tuple[str, str]:
    first = _build(settings)
    (settings.corpus_dir / "extra.txt").write_text("额外文档\n新增内容一句。\n", "utf-8")
    second = _build(settings)
    assert first != second
    return first, second


def _damage(path: Path, how: str) -> None:
    if how == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    else:  # flip bytes in the middle, same size
        data = bytearray(path.read_bytes())
        mid = len(data) // 2
        data[mid : mid + 64] = bytes(b ^ 0xFF for b in data[mid : mid + 64])
        path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("file", "how"),
    [
        ("chunks.sqlite", "truncate"),
        ("chunks.sqlite", "flip"),
        ("dense.faiss", "flip"),
        ("dense.faiss", "truncate"),
        ("vectors.npy", "truncate"),
        ("ids.npy", "flip"),
        ("lexical/idf.json", "truncate"),
        ("manifest.json", "truncate"),
    ],
)
def test_damaged_newest_version_serves_the_newest_intact_one(
    hashing_settings: Settings, file: str, how: str
) -> None:
    first, second = _two_versions(hashing_settings)
    store = LocalStore(hashing_settings.index_dir)
    _damage(store.versions.path(second) / file, how)
    with pytest.raises(IndexDamagedError) as info:
        store.open(second)
    assert info.value.version == second and info.value.reason

    core = Wenda.open(hashing_settings, embedder=HashingEmbedder(), build_if_missing=False)
    try:
        status = core.status()
        assert status.version == first and status.degraded and second in status.degraded
        answer = core.ask(QUESTION)
        assert answer.index_version == first and "5182家" in answer.answer
        assert core.documents() and core.document_text(core.documents()[0].doc_id, 0, 5)
    finally:
        core.close()


def test_damage_beyond_the_hash_limit_is_still_caught_by_the_loaders(
    hashing_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big versions are not hashed on load; sizes, quick_check and counts still guard them."""
    monkeypatch.setattr(integrity, "HASH_LIMIT_BYTES", 0)
    _, second = _two_versions(hashing_settings)
    store = LocalStore(hashing_settings.index_dir)
    target = store.versions.path(second) / "dense.faiss"
    target.write_bytes(b"\0" * target.stat().st_size)  # garbage of the right size
    with pytest.raises(IndexDamagedError):
        store.open(second)


def _wait(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_large_version_damaged_in_place_is_withdrawn_once_hashed(
    hashing_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flipped vector bytes pass every load check of a version too large to hash on load;
    the hash check that runs once it serves finds them and an older intact version serves."""
    monkeypatch.setattr(integrity, "HASH_LIMIT_BYTES", 0)
    first, second = _two_versions(hashing_settings)
    _damage(LocalStore(hashing_settings.index_dir).versions.path(second) / "vectors.npy", "flip")
    core = Wenda.open(hashing_settings, embedder=HashingEmbedder(), build_if_missing=False)
    try:
        _wait(lambda: core.version == first)
        degraded = core.status().degraded or ""
        assert second in degraded and "vectors.npy" in degraded and "sha256" in degraded
        answer = core.ask(QUESTION)
        assert answer.index_version == first and "5182家" in answer.answer
        assert core.refresh() is False and core.version == first  # the pointer is not retried
    finally:
        core.close()


def test_a_large_intact_version_keeps_serving_after_its_hash_check(
    hashing_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(integrity, "HASH_LIMIT_BYTES", 0)
    caplog.set_level(logging.INFO, logger="wenda.core")
    _, second = _two_versions(hashing_settings)
    core = Wenda.open(hashing_settings, embedder=HashingEmbedder(), build_if_missing=False)
    try:
        _wait(lambda: any("sha256 verified" in r.getMessage() for r in caplog.records))
        assert core.version == second and core.status().degraded is None
    finally:
        core.close()


def test_a_version_hashed_at_load_starts_no_background_check(
    hashing_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[object] = []
    real_thread = threading.Thread

    def counting_thread(*args: object, **kwargs: object) -> threading.Thread:
        started.append(kwargs.get("target"))
        return real_thread(*args, **kwargs)  # type: ignore[arg-type]

    _build(hashing_settings)
    monkeypatch.setattr(threading, "Thread", counting_thread)
    core = Wenda.open(hashing_settings, embedder=HashingEmbedder(), build_if_missing=False)
    try:
        with core.lease() as reader:
            assert not reader.verification_pending  # small: every sha256 checked by load
        assert not [t for t in started if getattr(t, "__name__", "") == "_verify"]
    finally:
        core.close()
    monkeypatch.setattr(integrity, "HASH_LIMIT_BYTES", 0)
    core = Wenda.open(hashing_settings, embedder=HashingEmbedder(), build_if_missing=False)
    try:
        assert [t for t in started if getattr(t, "__name__", "") == "_verify"]
    finally:
        core.close()


def test_a_damaged_large_version_with_no_other_keeps_serving_and_says_so(
    hashing_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(integrity, "HASH_LIMIT_BYTES", 0)
    only = _build(hashing_settings)
    _damage(LocalStore(hashing_settings.index_dir).versions.path(only) / "vectors.npy", "flip")
    core = Wenda.open(hashing_settings, embedder=HashingEmbedder(), build_if_missing=False)
    try:
        _wait(lambda: bool(core.status().degraded))
        assert core.version == only and "no intact other" in (core.status().degraded or "")
        assert core.ask(QUESTION).index_version == only  # a degraded answer beats none
        assert core.refresh() is False  # the pointer check must not clear the warning
        assert "no intact other" in (core.status().degraded or "")
    finally:
        core.close()


def test_running_core_does_not_switch_to_a_damaged_version(hashing_settings: Settings) -> None:
    first = _build(hashing_settings)
    core = Wenda.open(hashing_settings, embedder=HashingEmbedder(), build_if_missing=False)
    try:
        (hashing_settings.corpus_dir / "extra.txt").write_text("额外文档\n内容。\n", "utf-8")
        second = _build(hashing_settings)
        _damage(
            LocalStore(hashing_settings.index_dir).versions.path(second) / "chunks.sqlite",
            "truncate",
        )
        assert core.refresh() is False
        assert core.version == first and second in (core.status().degraded or "")
        for _ in range(5):  # no retry storm, no errors: every request answers
            assert "5182家" in core.ask(QUESTION).answer
        third = _build(hashing_settings.model_copy(update={"chunk_overlap_sentences": 0}))
        assert core.refresh() is True  # a good version is picked up and clears the warning
        assert core.version == third and core.status().degraded is None
    finally:
        core.close()


@pytest.mark.parametrize("garbage", ["", "garbage\x00\xff", "../../etc", "v20990101T000000000000Z"])
def test_bad_current_pointer_never_fails_a_request(
    hashing_settings: Settings, garbage: str
) -> None:
    first, second = _two_versions(hashing_settings)
    core = Wenda.open(hashing_settings, embedder=HashingEmbedder(), build_if_missing=False)
    pointer = hashing_settings.index_dir / "CURRENT"
    try:
        pointer.write_bytes(garbage.encode("utf-8", "surrogateescape"))
        for _ in range(5):
            assert core.ask(QUESTION).index_version == second
        assert core.refresh() is False and core.status().degraded
        # a fresh process with that pointer serves the newest published version
        other = Wenda.open(hashing_settings, embedder=HashingEmbedder(), build_if_missing=False)
        assert other.version == second and other.status().degraded
        other.close()
        pointer.write_text(second + "\n", "utf-8")  # pointer repaired
        core.ask(QUESTION)
        assert core.status().degraded is None
    finally:
        core.close()
    assert first in LocalStore(hashing_settings.index_dir).published()


def test_no_intact_version_is_a_clear_not_ready_error(hashing_settings: Settings) -> None:
    version = _build(hashing_settings)
    store = LocalStore(hashing_settings.index_dir)
    _damage(store.versions.path(version) / "chunks.sqlite", "truncate")
    with pytest.raises(IndexNotReadyError) as info:
        Wenda.open(hashing_settings, embedder=HashingEmbedder(), build_if_missing=False)
    assert version in info.value.message
    # a rebuild from the corpus recovers (the damaged version is not copied from)
    core = Wenda.open(hashing_settings, embedder=HashingEmbedder())
    assert core.version != version and "5182家" in core.ask(QUESTION).answer
    core.close()


def test_orphan_directories_never_cost_the_rollback_version(hashing_settings: Settings) -> None:
    first, second = _two_versions(hashing_settings)
    store = LocalStore(hashing_settings.index_dir)
    # what a kill right after the rename leaves: complete dirs that were never published
    for name in ("v20990101T000000000000Z", "v20990101T000000000001Z"):
        (store.versions.path(name)).mkdir()
    with store.build_lock():
        removed = store.cleanup(keep=2)
    assert set(removed) == {"v20990101T000000000000Z", "v20990101T000000000001Z"}
    assert store.published() == [first, second]
    assert store.rollback() == first
    store.open(first).close()


_KILL_AT = """
import os, signal, sys
from pathlib import Path
target = sys.argv[1]
real_replace = os.replace
def replace(src, dst, *a, **kw):
    versions = Path(dst).parent / "versions"
    published = [p for p in versions.iterdir() if not p.name.startswith(".")]
    if Path(dst).name == target and len(published) > 2:  # after the new version's rename
        os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst, *a, **kw)
os.replace = replace
from wenda.index.cli import main
sys.exit(main(["index"]))
"""


@pytest.mark.parametrize("kill_before", ["CURRENT", "HISTORY"])
def test_kill_during_publish_keeps_history_and_rollback(
    hashing_settings: Settings, kill_before: str
) -> None:
    """SIGKILL a real build right after the rename (before CURRENT) or before HISTORY."""
    first, second = _two_versions(hashing_settings)
    (hashing_settings.corpus_dir / "third.txt").write_text("第三份\n又一句新内容。\n", "utf-8")
    env = {
        **os.environ,
        "WENDA_CORPUS_DIR": str(hashing_settings.corpus_dir),
        "WENDA_INDEX_DIR": str(hashing_settings.index_dir),
        "WENDA_MODEL": "hashing",
    }
    proc = subprocess.run(
        [sys.executable, "-c", _KILL_AT, kill_before], cwd=REPO, env=env, timeout=300
    )
    assert proc.returncode == -9
    store = LocalStore(hashing_settings.index_dir)
    on_disk = sorted(p.name for p in store.versions.versions_dir.iterdir())
    assert len(on_disk) == 3  # the killed build's version was renamed into place
    if kill_before == "CURRENT":
        assert store.current() == second and store.published() == [first, second]
    else:  # CURRENT switched, HISTORY not yet appended: still part of the history
        assert store.current() == on_disk[-1] and store.published() == [first, second, on_disk[-1]]
    third = _build(hashing_settings)  # the next build cleans up
    kept = store.published()
    assert kept[-1] == third and len(kept) == 2
    assert store.rollback() == kept[0]
    store.open(kept[0]).close()


def test_a_version_of_an_older_format_is_reported_as_such(hashing_settings: Settings) -> None:
    version = _build(hashing_settings)
    store = LocalStore(hashing_settings.index_dir)
    manifest_path = store.versions.path(version) / "manifest.json"
    manifest_path.write_text(manifest_path.read_text("utf-8").replace('"format": 2', '"format": 1'))
    with pytest.raises(IndexDamagedError) as info:
        store.open(version)
    assert "format 1" in info.value.reason
    core = Wenda.open(hashing_settings, embedder=HashingEmbedder())  # rebuilds from the corpus
    assert core.version != version and core.status().chunks > 0
    core.close()


def test_rollback_refuses_a_damaged_version(hashing_settings: Settings) -> None:
    first, second = _two_versions(hashing_settings)
    store = LocalStore(hashing_settings.index_dir)
    _damage(store.versions.path(first) / "chunks.sqlite", "truncate")
    with pytest.raises(IndexDamagedError) as info:
        store.rollback()
    assert info.value.version == first
    assert store.current() == second and store.published() == [first, second]


def test_a_damaged_version_is_tried_once_not_on_every_refresh(
    hashing_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    first = _build(hashing_settings)
    core = Wenda.open(hashing_settings, embedder=HashingEmbedder(), build_if_missing=False)
    try:
        (hashing_settings.corpus_dir / "extra.txt").write_text("额外文档\n内容。\n", "utf-8")
        second = _build(hashing_settings)
        _damage(LocalStore(hashing_settings.index_dir).versions.path(second) / "ids.npy", "flip")
        with caplog.at_level("ERROR", logger="wenda.core"):
            for _ in range(5):
                assert core.refresh() is False
                core.ask(QUESTION)
        assert sum("is damaged" in r.getMessage() for r in caplog.records) == 1
        assert core.version == first
    finally:
        core.close()
