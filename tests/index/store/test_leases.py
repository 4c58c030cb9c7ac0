"""Old index versions are closed as soon as no request uses them (issue 10, "old snapshots").

Before, a swapped-out snapshot was released only by garbage collection (up to 9 stale
versions were seen open at once).
"""

from __future__ import annotations

import threading

from wenda.index.builder import build_index
from wenda.index.core import Wenda
from wenda.index.embedding.base import HashingEmbedder
from wenda.index.settings import Settings
from wenda.index.store.lexical import ChineseTokenizer
from wenda.index.store.local_reader import LocalReader

RELOADS = 6


def _publish_new_version(settings: Settings, i: int) -> str:
    (settings.corpus_dir / f"extra{i}.txt").write_text(f"追加{i}\n第{i}次追加的内容。\n", "utf-8")
    return build_index(settings, HashingEmbedder(), ChineseTokenizer()).version


def test_after_many_reloads_at_most_two_readers_are_open(hashing_settings: Settings) -> None:
    core = Wenda.open(hashing_settings, embedder=HashingEmbedder())
    seen: list[LocalReader] = []
    try:
        for i in range(RELOADS):
            with core.lease() as reader:
                assert isinstance(reader, LocalReader)
                seen.append(reader)
                version = _publish_new_version(hashing_settings, i)
                assert core.refresh() and core.version == version
                # the leased (old) version stays open while this "request" runs
                assert not reader.closed
                assert reader.document(f"extra{i}.txt") is None  # the old version, readable
                assert core.open_readers() == 2
            assert reader.closed  # released by the last lease, not by garbage collection
            assert core.open_readers() == 1
            core.ask("川渝两地住院费用直接结算的定点医疗机构有多少家？")
        assert sum(not r.closed for r in seen) == 0
    finally:
        core.close()
    with core.lease() as reader:
        assert reader.closed  # close() closes the current one too


def test_requests_in_flight_during_reloads_keep_working(hashing_settings: Settings) -> None:
    """Concurrent askers while versions switch: no error, never more than 2 + askers open."""
    core = Wenda.open(hashing_settings, embedder=HashingEmbedder())
    errors: list[BaseException] = []
    peak = [0]
    stop = threading.Event()

    def ask_loop() -> None:
        while not stop.is_set():
            try:
                core.ask("中欧班列（成渝）号今年1—4月开行了多少列？")
                peak[0] = max(peak[0], core.open_readers())
            except BaseException as exc:  # collected, asserted below
                errors.append(exc)
                return

    threads = [threading.Thread(target=ask_loop) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(RELOADS):
            _publish_new_version(hashing_settings, i)
            core.refresh()
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        core.close()
    assert not errors
    assert peak[0] <= 1 + len(threads)
