"""Plain data records that flow through the pipeline and out of ``Wenda.ask``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

Mode = Literal["hybrid+rerank", "hybrid", "dense", "bm25"]
"""Retrieval modes: RRF fusion + score rerank (default), RRF only, one side only."""
MODES: tuple[str, ...] = get_args(Mode)

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total) of a build: stage is scan, load, embed, write or publish."""


@dataclass(frozen=True)
class Section:
    """A heading and the span of cleaned text it governs: ``text[start:end]``."""

    title: str
    start: int
    end: int


@dataclass(frozen=True)
class Document:
    """A cleaned document. ``text`` is what offsets and citations refer to."""

    doc_id: str  # path relative to the corpus dir, with '/' separators
    title: str
    text: str
    sections: tuple[Section, ...]
    content_hash: str  # sha256 of the raw file bytes
    pages: tuple[int, ...] = ()  # PDF: offset in ``text`` where each page starts (page 1 at 0)
    ocr: bool = False  # some text was recognised from images
    tabular: bool = False  # one table row per line: chunks break only between lines


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage. Invariant: ``document.text[start:end] == text``."""

    doc_id: str
    title: str
    section: str
    start: int
    end: int
    text: str
    page: int | None = None  # 1-based PDF page where the chunk starts; None for other formats
    states: bytes | None = field(default=None, compare=False, repr=False)
    """Late-chunked sentence states (``embedding.sentence_states``): one pooled encoder
    state per ``split_sentences`` sentence of ``text``, or None (older index, other embedder)."""


@dataclass
class Passage:
    """One cited passage of an answer (field names are part of the public API).

    ``start``/``end`` are offsets into the cleaned document text; ``answer_start`` and
    ``answer_end`` are offsets into this passage's ``text`` (None when the answer is not in
    this passage). ``score`` is the fused retrieval score in [0, 1].
    """

    n: int
    doc_id: str
    title: str
    section: str
    start: int
    end: int
    score: float
    text: str
    answer_start: int | None = None
    answer_end: int | None = None
    chunk_id: int = field(default=-1, repr=False)  # internal; not serialized
    page: int | None = None  # 1-based PDF page of the passage; None for other formats

    def to_dict(self) -> dict[str, Any]:
        # Spelled out, not ``asdict``: its recursive deep copy was ~0.1 ms of every /ask.
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "start": self.start,
            "end": self.end,
            "score": self.score,
            "text": self.text,
            "answer_start": self.answer_start,
            "answer_end": self.answer_end,
            "page": self.page,
        }


@dataclass
class Answer:
    """The result of ``Wenda.ask``; ``to_dict`` is the JSON shape the API and CLI return.

    ``answer`` is the answering sentence followed by its citation marker, e.g. "…5182家。[1]",
    where 1 is the ``n`` of the passage it comes from; when ``answerable`` is False it is a
    plain statement that the documents do not contain the answer.
    """

    question: str
    answerable: bool
    answer: str
    passages: list[Passage]
    index_version: str = ""
    took_ms: float = 0.0
    support: float = 0.0  # the answerability probability that decided ``answerable``
    coverage: float = 0.0  # share of question terms in the answer's passage (a support input)
    best_cosine: float | None = None  # best dense similarity among the hits (a gate input)
    reason: str | None = None  # when not answerable: one short Chinese sentence saying why
    missing: list[str] = field(default_factory=list)  # question terms/answer type not found

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answerable": self.answerable,
            "answer": self.answer,
            "reason": self.reason,
            "missing": list(self.missing),
            "passages": [p.to_dict() for p in self.passages],
        }


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    title: str
    chunks: int
    content_hash: str
    indexed_at: str  # ISO 8601, UTC
    chars: int
    ocr: bool = False  # some of the text was recognised from images


@dataclass(frozen=True)
class IndexStatus:
    version: str
    documents: int
    chunks: int
    model: str
    dim: int
    dense_index: str  # "flat" or "hnsw"
    degraded: str | None = None  # why an older version serves (newest damaged), else None
    sentence_states: bool = False  # chunks carry late-chunked sentence states (answer model)


@dataclass
class BuildReport:
    """What ``wenda index`` did; printed by the CLI and returned by ``/reindex`` jobs."""

    version: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    chunks_total: int = 0
    chunks_embedded: int = 0
    full_rebuild: bool = False
    published: bool = False  # False when nothing changed and the current version was kept
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["skipped"] = [{"path": p, "reason": r} for p, r in self.skipped]
        return data
