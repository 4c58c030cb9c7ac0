"""Chunk and document records in SQLite, one database per local index version.

``chunks.id`` is the stable chunk id (``base.chunk_id_for``), not a FAISS position; the
version's ``ids.npy`` maps FAISS/BM25 rows to these ids.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cachetools import LRUCache
from wenda.index.models import Chunk, DocumentInfo, Section
from wenda.index.store.base import StoredDocument

__all__ = ["ChunkStore", "RecordWriter", "StoredDocument"]

SCHEMA = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    sections TEXT NOT NULL,
    indexed_at TEXT NOT NULL,
    chunk_count INTEGER NOT NULL,
    ocr INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    title TEXT NOT NULL,
    section TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    tokens TEXT NOT NULL,
    page INTEGER DEFAULT NULL,
    states BLOB DEFAULT NULL
);
CREATE INDEX chunks_doc ON chunks(doc_id, start);
"""
CACHED_CHUNKS = 4096
"""Chunks a version's store keeps in memory (~4 MB of text, and ~10 MB of sentence
states, 2.35 KB a chunk on average): the same passages answer many questions, and
the SQLite read was ~0.08 ms of every ``/ask``."""
_CHUNK_COLUMNS = "id, doc_id, title, section, start, end, text, tokens, page"
_READ_COLUMNS = "id, doc_id, title, section, start, end, text, page"


def _chunk(row: Sequence[Any]) -> Chunk:
    """A Chunk from (doc_id, title, section, start, end, text, page[, states])."""
    doc_id, title, section, start, end, text, page, *states = row
    blob = bytes(states[0]) if states and states[0] is not None else None
    return Chunk(doc_id, title, section, start, end, text, page, blob)


def _has_states(conn: sqlite3.Connection, schema: str = "main") -> bool:
    """Databases written before sentence states have no ``states`` column."""
    rows = conn.execute(f"PRAGMA {schema}.table_info(chunks)").fetchall()
    return any(r[1] == "states" for r in rows)


def _uri(path: Path, mode: str) -> str:
    """An SQLite URI for ``path`` (percent-encoded, so any file name works)."""
    return f"{Path(path).resolve().as_uri()}?mode={mode}"


def _doc_row(doc: StoredDocument, chunk_count: int) -> tuple[object, ...]:
    sections = json.dumps([[s.title, s.start, s.end] for s in doc.sections], ensure_ascii=False)
    return (
        doc.doc_id,
        doc.title,
        doc.content_hash,
        doc.text,
        sections,
        doc.indexed_at,
        chunk_count,
        int(doc.ocr),
    )


class RecordWriter:
    """Writes one staging database; chunk records may also be copied from a previous one."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(_uri(path, "rwc"), uri=True)
        self._conn.executescript(SCHEMA)
        self._attached = False
        self._copied = _CHUNK_COLUMNS

    def add(
        self,
        doc: StoredDocument,
        chunk_ids: Sequence[int],
        chunks: Sequence[Chunk],
        token_lists: Sequence[Sequence[str]],
    ) -> None:
        self._conn.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _doc_row(doc, len(chunks))
        )
        self._conn.executemany(
            f"INSERT INTO chunks ({_CHUNK_COLUMNS}, states) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    cid,
                    c.doc_id,
                    c.title,
                    c.section,
                    c.start,
                    c.end,
                    c.text,
                    " ".join(toks),
                    getattr(c, "page", None),
                    c.states,
                )
                for cid, c, toks in zip(chunk_ids, chunks, token_lists, strict=True)
            ],
        )

    def copy_from(self, previous: Path, doc_id: str) -> None:
        """Copy one document's rows from a previous version's database (SQL, no decoding)."""
        if not self._attached:
            self._conn.execute("ATTACH DATABASE ? AS prev", (_uri(previous, "ro"),))
            self._attached = True
            if _has_states(self._conn, "prev"):
                self._copied = f"{_CHUNK_COLUMNS}, states"
        self._conn.execute(
            "INSERT INTO documents SELECT * FROM prev.documents WHERE doc_id = ?", (doc_id,)
        )
        self._conn.execute(
            f"INSERT INTO chunks ({self._copied}) SELECT {self._copied} FROM prev.chunks "
            "WHERE doc_id = ?",
            (doc_id,),
        )

    def finish(self) -> None:
        self._conn.commit()
        if self._attached:
            self._conn.execute("DETACH DATABASE prev")
        self._conn.close()

    def abort(self) -> None:
        self._conn.close()


class ChunkStore:
    """Read-only access to one version's database, shared across threads."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(_uri(path, "ro"), uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._closed = False
        self._cache: LRUCache[int, Chunk] = LRUCache(maxsize=CACHED_CHUNKS)
        with self._lock:
            self._columns = _READ_COLUMNS + (", states" if _has_states(self._conn) else "")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._conn.close()
                self._closed = True

    def _all(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    def quick_check(self) -> str:
        """SQLite's own structural check ("ok" when the file is sound); linear in its size."""
        rows = self._all("PRAGMA quick_check(1)")
        return str(rows[0][0]) if rows else "no result"

    def counts(self) -> tuple[int, int]:
        """(documents, chunks) rows, for the cross-file count check."""
        docs = self._all("SELECT count(*) FROM documents")[0][0]
        chunks = self._all("SELECT count(*) FROM chunks")[0][0]
        return int(docs), int(chunks)

    def chunks(self, ids: Sequence[int]) -> dict[int, Chunk]:
        """Chunks by id; the last ``CACHED_CHUNKS`` read are kept (a version never changes)."""
        out: dict[int, Chunk] = {}
        wanted: list[int] = []
        with self._lock:
            for i in ids:
                chunk = self._cache.get(int(i))  # a hit counts as a use
                if chunk is None:
                    wanted.append(int(i))
                else:
                    out[int(i)] = chunk
        for lo in range(0, len(wanted), 500):  # stay under SQLite's bound-parameter limit
            part = wanted[lo : lo + 500]
            rows = self._all(
                f"SELECT {self._columns} FROM chunks WHERE id IN ({','.join('?' * len(part))})",
                part,
            )
            found = {r[0]: _chunk(r[1:]) for r in rows}
            out.update(found)
            with self._lock:
                self._cache.update(found)  # evicts the least recently used
        return out

    def doc_chunk_ids(self, doc_id: str) -> list[int]:
        rows = self._all("SELECT id FROM chunks WHERE doc_id = ? ORDER BY start, end", [doc_id])
        return [int(r[0]) for r in rows]

    def doc_tokens(self, doc_id: str) -> list[tuple[int, list[str]]]:
        """(chunk id, tokens) of one document, in text order."""
        rows = self._all(
            "SELECT id, tokens FROM chunks WHERE doc_id = ? ORDER BY start, end", [doc_id]
        )
        return [(int(r[0]), [t for t in r[1].split(" ") if t]) for r in rows]

    def document(self, doc_id: str) -> StoredDocument | None:
        rows = self._all(
            "SELECT doc_id, title, content_hash, text, sections, indexed_at, ocr FROM documents "
            "WHERE doc_id = ?",
            [doc_id],
        )
        if not rows:
            return None
        r = rows[0]
        sections = tuple(Section(t, s, e) for t, s, e in json.loads(r[4]))
        return StoredDocument(r[0], r[1], r[2], r[3], sections, r[5], bool(r[6]))

    def document_infos(self) -> list[DocumentInfo]:
        rows = self._all(
            "SELECT doc_id, title, chunk_count, content_hash, indexed_at, length(text), ocr "
            "FROM documents ORDER BY doc_id"
        )
        return [DocumentInfo(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows]
