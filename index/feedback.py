"""👍/👎 votes on answers, kept in a small SQLite file next to (not inside) the index versions.

Index versions are replaced and pruned on every rebuild; votes must outlive them, so they
live in ``<index_dir>/feedback.sqlite``. Each vote keeps what is needed to review it later:
the question as asked (and as resolved, for follow-ups), the answer shown, the cited chunk
ids and the index version that produced it. ``export_eval`` writes the 👎 questions in the
seeds_dev.jsonl format so a reviewer can add the gold answers and grow the eval set.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from wenda.index.errors import WendaError
from wenda.index.models import Answer

Vote = Literal["up", "down"]
VOTES: tuple[str, ...] = get_args(Vote)
FEEDBACK_FILE = "feedback.sqlite"
MAX_TEXT_CHARS = 20_000  # a vote is small; cap what one request can make us store

_MARKER = re.compile(r"\[(\d+)\]")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
    question TEXT NOT NULL,
    resolved_question TEXT NOT NULL,
    answer TEXT NOT NULL,
    answerable INTEGER,
    chunk_ids TEXT NOT NULL,
    index_version TEXT NOT NULL,
    source TEXT NOT NULL
)
"""


class InvalidFeedbackError(WendaError):
    """A vote that cannot be stored; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    created_at: str  # ISO 8601, UTC
    vote: str
    question: str
    resolved_question: str  # the stand-alone form actually asked (differs for follow-ups)
    answer: str
    answerable: bool | None
    chunk_ids: tuple[int, ...]
    index_version: str
    source: str  # "bot", "web", ...

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["chunk_ids"] = list(self.chunk_ids)
        return data


def cited_chunk_ids(answer: Answer) -> list[int]:
    """Chunk ids of the passages the answer's ``[n]`` markers cite (none for a refusal)."""
    by_n = {p.n: p.chunk_id for p in answer.passages}
    cited = [by_n[int(m)] for m in _MARKER.findall(answer.answer) if int(m) in by_n]
    return list(dict.fromkeys(c for c in cited if c >= 0))


def _text(name: str, value: object, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidFeedbackError(name, f"{name} 不能为空 ({name} is required)")
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidFeedbackError(name, f"{name} 太长 ({name} longer than {MAX_TEXT_CHARS})")
    return value.strip()


class FeedbackStore:
    """Append-only vote log; thread-safe (one connection per call, WAL journal)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn, conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(_SCHEMA)

    @classmethod
    def in_index_dir(cls, index_dir: Path) -> FeedbackStore:
        return cls(index_dir / FEEDBACK_FILE)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def add(
        self,
        vote: str,
        question: str,
        answer: str,
        chunk_ids: Sequence[int] = (),
        index_version: str = "",
        source: str = "",
        resolved_question: str | None = None,
        answerable: bool | None = None,
    ) -> FeedbackRecord:
        """Store one vote; raises ``InvalidFeedbackError`` for a bad vote or text."""
        if vote not in VOTES:
            raise InvalidFeedbackError("vote", "vote 只能是 up 或 down (vote must be up or down)")
        q = _text("question", question)
        resolved = _text("resolved_question", resolved_question or q)
        text = _text("answer", answer, required=False)
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in chunk_ids):
            raise InvalidFeedbackError("chunk_ids", "chunk_ids 必须是整数 (chunk_ids must be ints)")
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            vote,
            q,
            resolved,
            text,
            None if answerable is None else int(answerable),
            json.dumps(list(chunk_ids)),
            _text("index_version", index_version, required=False),
            _text("source", source, required=False),
        )
        with self._lock, closing(self._connect()) as conn, conn:
            cur = conn.execute(
                "INSERT INTO feedback (created_at, vote, question, resolved_question, answer, "
                "answerable, chunk_ids, index_version, source) VALUES (?,?,?,?,?,?,?,?,?)",
                row,
            )
            new_id = int(cur.lastrowid or 0)
        return self.get(new_id)  # type: ignore[return-value]

    def add_answer(self, vote: str, asked: str, answer: Answer, source: str) -> FeedbackRecord:
        """Store a vote on an ``Answer`` object (the bot has it at hand)."""
        return self.add(
            vote,
            question=asked,
            answer=answer.answer,
            chunk_ids=cited_chunk_ids(answer),
            index_version=answer.index_version,
            source=source,
            resolved_question=answer.question,
            answerable=answer.answerable,
        )

    def get(self, feedback_id: int) -> FeedbackRecord | None:
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT * FROM feedback WHERE id = ?", (feedback_id,)).fetchone()
        return None if row is None else _record(row)

    def records(self, vote: str | None = None) -> list[FeedbackRecord]:
        """Every vote, oldest first (optionally only ``up`` or ``down``)."""
        return list(self._iter(vote))

    def _iter(self, vote: str | None) -> Iterator[FeedbackRecord]:
        sql = "SELECT * FROM feedback"
        args: tuple[str, ...] = ()
        if vote is not None:
            sql, args = sql + " WHERE vote = ?", (vote,)
        with closing(self._connect()) as conn:
            for row in conn.execute(sql + " ORDER BY id", args):
                yield _record(row)

    def export_eval(self, path: Path) -> int:
        """Write the 👎 questions as eval items (answers empty, for a reviewer to fill)."""
        rows = self.records("down")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            for r in rows:
                item = {
                    "id": f"feedback-{r.id}",
                    "question": r.resolved_question,
                    "answers": [],
                    "type": "feedback",
                    "asked": r.question,
                    "wrong_answer": r.answer,
                    "chunk_ids": list(r.chunk_ids),
                    "index_version": r.index_version,
                    "created_at": r.created_at,
                }
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
        return len(rows)


def _record(row: sqlite3.Row) -> FeedbackRecord:
    answerable = row["answerable"]
    return FeedbackRecord(
        id=int(row["id"]),
        created_at=row["created_at"],
        vote=row["vote"],
        question=row["question"],
        resolved_question=row["resolved_question"],
        answer=row["answer"],
        answerable=None if answerable is None else bool(answerable),
        chunk_ids=tuple(int(c) for c in json.loads(row["chunk_ids"])),
        index_version=row["index_version"],
        source=row["source"],
    )
