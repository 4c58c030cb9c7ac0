from __future__ import annotations

from pathlib import Path

import pytest
from wenda.index.errors import BuildInProgressError
from wenda.index.store.versions import VersionStore


def _publish(store: VersionStore, marker: str) -> str:
    staging = store.new_staging()
    (staging / "data.txt").write_text(marker)
    return store.publish(staging)


def test_publish_switches_pointer_and_keeps_previous(tmp_path: Path) -> None:
    store = VersionStore(tmp_path)
    assert store.current() is None
    v1 = _publish(store, "one")
    v2 = _publish(store, "two")
    assert store.current() == v2
    assert (store.path(v2) / "data.txt").read_text() == "two"
    assert store.published() == [v1, v2]
    assert store.rollback() == v1
    assert store.current() == v1


def test_cleanup_keeps_newest_and_current_and_drops_staging(tmp_path: Path) -> None:
    store = VersionStore(tmp_path)
    names = [_publish(store, str(i)) for i in range(4)]
    stale = store.new_staging()
    removed = store.cleanup(keep=2)
    assert stale.name in removed
    assert store.published() == names[2:]
    assert not stale.exists()


def test_unpublished_staging_is_never_current(tmp_path: Path) -> None:
    store = VersionStore(tmp_path)
    v1 = _publish(store, "one")
    store.new_staging()  # a build that died before publishing
    assert store.current() == v1


def test_pointer_to_missing_dir_reads_as_no_index(tmp_path: Path) -> None:
    store = VersionStore(tmp_path)
    (tmp_path / "CURRENT").write_text("v-gone\n")
    assert store.current() is None


def test_build_lock_is_exclusive(tmp_path: Path) -> None:
    store = VersionStore(tmp_path)
    with store.build_lock(), pytest.raises(BuildInProgressError), store.build_lock():
        pass
    with store.build_lock():  # released again
        pass
