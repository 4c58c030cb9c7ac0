"""SQLite records: any index folder name works (URIs are percent-encoded)."""

from __future__ import annotations

from pathlib import Path

from wenda.index.models import Chunk
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
