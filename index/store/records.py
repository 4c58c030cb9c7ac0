"""Chunk and document records in SQLite, one database per index version.

Row ``chunks.id`` equals the FAISS id and the BM25 row, so the three stay aligned.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wenda.index.models import Chunk, DocumentInfo, Section

SCHEMA = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    sections TEXT NOT NULL,
    indexed_at TEXT NOT NULL,
    chunk_count INTEGER NOT NULL
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    title TEXT NOT NULL,
    section TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    tokens TEXT NOT NULL
);
CREATE INDEX chunks_doc ON chunks(doc_id, id);
"""


@dataclass(frozen=True)
class StoredDocument:
    doc_id: str
    title: str
    content_hash: str
    text: str
    sections: tuple[Section, ...]
    indexed_at: str


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: int
    chunk: Chunk
    tokens: tuple[str, ...]


def write_store(
    path: Path,
    documents: Sequence[tuple[StoredDocument, int]],
    chunks: Iterable[tuple[Chunk, Sequence[str]]],
) -> None:
    """Write a fresh database; chunk ids are assigned 0..n-1 in iteration order."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(SCHEMA)
        conn.executemany(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    d.doc_id,
                    d.title,
                    d.content_hash,
                    d.text,
                    json.dumps([[s.title, s.start, s.end] for s in d.sections], ensure_ascii=False),
                    d.indexed_at,
                    count,
                )
                for d, count in documents
            ],
        )
        conn.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (i, c.doc_id, c.title, c.section, c.start, c.end, c.text, " ".join(toks))
                for i, (c, toks) in enumerate(chunks)
            ),
        )
        conn.commit()
    finally:
        conn.close()


class ChunkStore:
    """Read-only access to one version's database, shared across threads."""

    def __init__(self, path: Path) -> None:
        uri = f"file:{path}?mode=ro"
        self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _all(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def chunks(self, ids: Sequence[int]) -> dict[int, Chunk]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._all(
            "SELECT id, doc_id, title, section, start, end, text FROM chunks "
            f"WHERE id IN ({marks})",
            [int(i) for i in ids],
        )
        return {r[0]: Chunk(r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows}

    def doc_chunks(self, doc_id: str) -> list[StoredChunk]:
        rows = self._all(
            "SELECT id, doc_id, title, section, start, end, text, tokens FROM chunks "
            "WHERE doc_id = ? ORDER BY id",
            [doc_id],
        )
        return [
            StoredChunk(
                r[0],
                Chunk(r[1], r[2], r[3], r[4], r[5], r[6]),
                tuple(filter(None, r[7].split(" "))),
            )
            for r in rows
        ]

    def document(self, doc_id: str) -> StoredDocument | None:
        rows = self._all(
            "SELECT doc_id, title, content_hash, text, sections, indexed_at FROM documents "
            "WHERE doc_id = ?",
            [doc_id],
        )
        if not rows:
            return None
        r = rows[0]
        sections = tuple(Section(t, s, e) for t, s, e in json.loads(r[4]))
        return StoredDocument(r[0], r[1], r[2], r[3], sections, r[5])

    def document_infos(self) -> list[DocumentInfo]:
        rows = self._all(
            "SELECT doc_id, title, chunk_count, content_hash, indexed_at, length(text) "
            "FROM documents ORDER BY doc_id"
        )
        return [DocumentInfo(*r) for r in rows]

    def count_chunks(self) -> int:
        return int(self._all("SELECT count(*) FROM chunks")[0][0])
