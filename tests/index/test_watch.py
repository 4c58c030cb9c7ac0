"""Corpus watcher: real files, real watchfiles, a real core; short quiet periods."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from wenda.index.core import Wenda
from wenda.index.models import BuildReport
from wenda.index.settings import Settings
from wenda.index.watch import CorpusWatcher, WatchBuild

SETTLE = 0.4


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def core(hashing_settings: Settings) -> Iterator[Wenda]:
    wenda = Wenda.open(hashing_settings)
    yield wenda
    wenda.close()


def start(watcher: CorpusWatcher) -> CorpusWatcher:
    watcher.start()
    assert watcher.ready.wait(10), "watch never came up"
    return watcher


def test_a_burst_of_changes_gives_one_build(core: Wenda, hashing_settings: Settings) -> None:
    seen: list[WatchBuild] = []
    watcher = CorpusWatcher(hashing_settings.corpus_dir, core.reindex, SETTLE)
    watcher.add_listener(seen.append)
    start(watcher)
    before = core.version
    try:
        for i in range(5):
            (hashing_settings.corpus_dir / f"new{i}.txt").write_text(
                f"第{i}份新文档。云阳县的龙缸景区在第{i}季度接待游客{i}万人次。", "utf-8"
            )
            time.sleep(0.02)
        assert wait_for(lambda: watcher.builds_total >= 1)
        time.sleep(SETTLE * 4)  # nothing else changed: no second build
        assert watcher.builds_total == 1 and len(seen) == 1
        build = seen[0]
        assert build.ok and build.report is not None and build.report.published
        assert sorted(build.report.added) == [f"new{i}.txt" for i in range(5)]
        assert core.version != before  # the running core switched to the new version
        assert "龙缸" in core.ask("龙缸景区接待了多少游客？").passages[0].text
        status = watcher.status()
        assert status["builds"] == 1 and status["last_build"]["report"]["added"] == 5
    finally:
        watcher.stop()


def test_builds_never_overlap_and_changes_during_a_build_give_one_more(
    core: Wenda, hashing_settings: Settings
) -> None:
    running, peak, started = [0], [0], threading.Event()
    lock = threading.Lock()

    def slow_rebuild() -> BuildReport:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        started.set()
        time.sleep(1.5)
        try:
            return core.reindex()
        finally:
            with lock:
                running[0] -= 1

    watcher = start(CorpusWatcher(hashing_settings.corpus_dir, slow_rebuild, SETTLE))
    try:
        (hashing_settings.corpus_dir / "a.txt").write_text("第一份。万州烤鱼很有名。", "utf-8")
        assert started.wait(20)
        for name in ("b.txt", "c.txt"):  # while the first build runs
            (hashing_settings.corpus_dir / name).write_text(f"{name}。江津米花糖。", "utf-8")
        assert wait_for(lambda: watcher.builds_total >= 2)
        time.sleep(SETTLE * 4)
        assert watcher.builds_total == 2 and peak[0] == 1
        assert "b.txt" in {d.doc_id for d in core.documents()}
    finally:
        watcher.stop()


def test_a_failed_build_is_reported_and_the_watch_goes_on(
    core: Wenda, hashing_settings: Settings
) -> None:
    calls = [0]

    def flaky() -> BuildReport:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("disk on fire")
        return core.reindex()

    watcher = start(CorpusWatcher(hashing_settings.corpus_dir, flaky, SETTLE))
    version = core.version
    try:
        (hashing_settings.corpus_dir / "x.txt").write_text("荣昌卤鹅。", "utf-8")
        assert wait_for(lambda: watcher.failures_total == 1)
        assert core.version == version  # still serving the old version
        assert watcher.last_build is not None and "disk on fire" in (watcher.last_build.error or "")
        (hashing_settings.corpus_dir / "y.txt").write_text("潼南柠檬。", "utf-8")
        assert wait_for(lambda: watcher.builds_total == 2)
        assert watcher.last_build.ok and core.version != version
    finally:
        watcher.stop()


def test_a_bad_file_is_skipped_and_named(core: Wenda, hashing_settings: Settings) -> None:
    watcher = start(CorpusWatcher(hashing_settings.corpus_dir, core.reindex, SETTLE))
    try:
        (hashing_settings.corpus_dir / "broken.pdf").write_bytes(b"%PDF-1.4 not really\x00\x01")
        assert wait_for(lambda: watcher.builds_total == 1)
        build = watcher.last_build
        assert build is not None and build.ok and build.report is not None
        assert [path for path, _ in build.report.skipped] == ["broken.pdf"]
    finally:
        watcher.stop()


def test_stop_ends_the_thread(hashing_settings: Settings) -> None:
    watcher = start(CorpusWatcher(hashing_settings.corpus_dir, lambda: None, SETTLE))
    thread = watcher._thread
    watcher.stop()
    assert thread is not None and not thread.is_alive()


@pytest.mark.model
def test_watch_rebuilds_with_the_default_model(tmp_path, seed_corpus) -> None:
    settings = Settings(
        _env_file=None, corpus_dir=seed_corpus, index_dir=tmp_path / "idx", reload_check_seconds=0
    )
    core = Wenda.open(settings)
    watcher = start(CorpusWatcher(settings.corpus_dir, core.reindex, SETTLE))
    try:
        (seed_corpus / "奉节.txt").write_text(
            "奉节脐橙\n奉节县的脐橙种植面积达到37.5万亩。", "utf-8"
        )
        assert wait_for(lambda: watcher.builds_total >= 1, timeout=120)
        assert watcher.last_build is not None and watcher.last_build.ok
        answer = core.ask("奉节县的脐橙种植面积有多少万亩？")
        assert answer.answerable and "37.5万亩" in answer.answer
    finally:
        watcher.stop()
        core.close()


def test_a_change_while_another_process_builds_is_built_afterwards(
    core: Wenda, hashing_settings: Settings
) -> None:
    """The real build lock is held (as by a `wenda index` elsewhere): retried, not dropped."""
    from wenda.index.store.base import open_store

    store = open_store(hashing_settings)
    watcher = start(CorpusWatcher(hashing_settings.corpus_dir, core.reindex, SETTLE))
    try:
        with store.build_lock():
            (hashing_settings.corpus_dir / "held.txt").write_text("忠县柑橘。", "utf-8")
            time.sleep(SETTLE * 4)  # the watcher tried and found the lock taken
            assert watcher.builds_total == 0
        assert wait_for(lambda: watcher.builds_total == 1)
        assert watcher.last_build is not None and watcher.last_build.ok
        assert "held.txt" in {d.doc_id for d in core.documents()}
    finally:
        watcher.stop()
        store.close()
