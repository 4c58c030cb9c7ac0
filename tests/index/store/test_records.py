"""SQLite records: any index folder name works (URIs are percent-encoded); chunk reads cached."""

from __future__ import annotations

from pathlib import Path

import pytest
from wenda.index.models import Chunk
from wenda.index.store import records
from wenda.index.store.base import StoredDocument
from wenda.index.store.records import ChunkStore, RecordWriter


def test_write_copy_and_read_in_a_folder_with_uri_characters(tmp_path: Path) -> None:
    folder = tmp_path / "索引 ?#% dir"
    folder.mkdir()
    doc = StoredDocument("x.txt", "x", "h", "第一句。", (), "2026-12-01T00:00:00+00:00", ocr=True)
    chunk = Chunk("x.txt", "x", "", 0, 4, "第一句。", page=3)
    first = RecordWriter(folder / "a.sqlite")
    first.add(doc, [7], [chunk], [["第一", "句"]])
    first.finish()
    second = RecordWriter(folder / "b.sqlite")
    second.copy_from(folder / "a.sqlite", "x.txt")
    second.finish()
    store = ChunkStore(folder / "b.sqlite")
    try:
        assert store.quick_check() == "ok" and store.counts() == (1, 1)
        assert store.chunks([7]) == {7: chunk}
        assert store.document("x.txt") == doc
        assert store.doc_tokens("x.txt") == [(7, ["第一", "句"])]
    finally:
        store.close()
    assert sorted(p.name for p in folder.iterdir()) == ["a.sqlite", "b.sqlite"]


def test_chunks_read_once_are_served_from_memory_within_a_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(records, "CACHED_CHUNKS", 3)
    writer = RecordWriter(tmp_path / "c.sqlite")
    chunks = [Chunk("x.txt", "x", "", i, i + 1, f"第{i}句。") for i in range(5)]
    doc = StoredDocument("x.txt", "x", "h", "".join(c.text for c in chunks), (), "t")
    writer.add(doc, list(range(5)), chunks, [["句"]] * 5)
    writer.finish()
    store = ChunkStore(tmp_path / "c.sqlite")
    queries: list[object] = []
    real = store._all
    monkeypatch.setattr(store, "_all", lambda *a: queries.append(a) or real(*a))
    try:
        assert store.chunks([0, 1, 9]) == {0: chunks[0], 1: chunks[1]}  # 9 does not exist
        assert store.chunks([1, 0]) == {1: chunks[1], 0: chunks[0]}
        assert len(queries) == 1  # the second read came from memory
        assert store.chunks([2, 3, 4]) == {i: chunks[i] for i in (2, 3, 4)}
        assert len(store._cache) == 3  # bounded: the oldest (0, 1) were dropped
        assert store.chunks([0]) == {0: chunks[0]} and len(queries) == 3
    finally:
        store.close()


def test_a_database_from_before_sentence_states_is_read_and_copied(tmp_path: Path) -> None:
    """Versions written before the ``states`` column still serve, and a build copying
    from one writes its chunks without states."""
    import sqlite3

    old_schema = records.SCHEMA.replace(",\n    states BLOB DEFAULT NULL", "")
    assert "states" not in old_schema
    conn = sqlite3.connect(tmp_path / "old.sqlite")
    conn.executescript(old_schema)
    conn.execute("INSERT INTO documents VALUES ('x.txt', 'x', 'h', '一句。', '[]', 't', 1, 0)")
    conn.execute("INSERT INTO chunks VALUES (7, 'x.txt', 'x', '', 0, 3, '一句。', '一句', NULL)")
    conn.commit()
    conn.close()
    chunk = Chunk("x.txt", "x", "", 0, 3, "一句。")
    writer = RecordWriter(tmp_path / "new.sqlite")
    writer.copy_from(tmp_path / "old.sqlite", "x.txt")
    stated = Chunk("y.txt", "y", "", 0, 3, "二句。", states=b"\x00\x3c" * 4)
    doc = StoredDocument("y.txt", "y", "h2", "二句。", (), "t")
    writer.add(doc, [8], [stated], [["二句"]])
    writer.finish()
    for name, expected in (("old.sqlite", {7: chunk}), ("new.sqlite", {7: chunk, 8: stated})):
        store = ChunkStore(tmp_path / name)
        try:
            got = store.chunks(list(expected))
            assert got == expected
            assert [c.states for c in got.values()] == [c.states for c in expected.values()]
        finally:
            store.close()
