"""Find the documents of a corpus folder and turn one into a clean ``Document``.

Scanning only stats and hashes files, so an indexer can compare hashes with its previous
manifest and load, clean and chunk just the new or changed documents. Every file that
cannot be used is logged once (logger ``wenda.corpus``) and listed in ``skipped``; one bad
file never stops the others: any exception while reading one document becomes a skip with
its reason. The walk itself (links, FIFOs, loops, odd names) is in ``corpus_walk``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from wenda.index.errors import CorpusNotFoundError
from wenda.index.ingest.corpus_walk import (
    check_regular_inside,
    display_name,
    is_junk,
    raw_relative_path,
    walk_corpus,
)
from wenda.index.ingest.encoding import decoding_document
from wenda.index.ingest.loaders import (
    LoadOptions,
    UnreadableDocumentError,
    check_suffix,
    load_bytes,
    read_bytes,
)
from wenda.index.ingest.pages import build_document
from wenda.index.models import Document

logger = logging.getLogger("wenda.corpus")

__all__ = ["CorpusEntry", "CorpusScan", "is_junk", "load_document", "scan_corpus"]

_MAX_REASON_CHARS = 300


class CorpusEntry(NamedTuple):
    """A candidate document: ``(doc_id, path, content_hash)``."""

    doc_id: str  # path relative to the corpus dir, '/' separators
    path: Path
    content_hash: str  # sha256 of the raw bytes


@dataclass
class CorpusScan:
    """The result of ``scan_corpus``.

    ``candidates`` are the files that passed the cheap checks; a file that then fails to
    load stays in ``candidates`` and is added to ``skipped`` by ``load``.
    """

    corpus_dir: Path
    max_bytes: int
    candidates: list[CorpusEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (doc_id, reason)

    @property
    def hashes(self) -> dict[str, str]:
        """doc_id → content hash, for comparing with a previous manifest."""
        return {entry.doc_id: entry.content_hash for entry in self.candidates}

    def load(self, entry: CorpusEntry | str) -> Document | None:
        """Load and clean one document; if unreadable, record it in ``skipped``, return None."""
        doc_id = entry if isinstance(entry, str) else entry.doc_id
        try:
            return load_document(self.corpus_dir, doc_id, self.max_bytes)
        except UnreadableDocumentError as exc:  # already logged by load_document
            self.skipped.append((doc_id, exc.reason))
            return None

    def documents(self, doc_ids: Iterable[str] | None = None) -> Iterator[Document]:
        """Load the given documents (default: all candidates), skipping unreadable ones."""
        wanted = [e.doc_id for e in self.candidates] if doc_ids is None else list(doc_ids)
        for doc_id in wanted:
            doc = self.load(doc_id)
            if doc is not None:
                yield doc

    def _skip(self, doc_id: str, reason: str) -> None:
        _warn(doc_id, reason)
        self.skipped.append((doc_id, reason))


def scan_corpus(corpus_dir: Path, max_bytes: int) -> CorpusScan:
    """List candidate documents under ``corpus_dir`` in a stable order, with their hashes.

    Cheap checks happen here (file type, size, empty file); content problems show up
    when a document is loaded. Hidden files and folders and editor junk are ignored.
    """
    corpus_dir = Path(corpus_dir)
    scan = CorpusScan(corpus_dir, max_bytes)
    if not corpus_dir.is_dir():
        raise CorpusNotFoundError(str(corpus_dir))
    paths = dict(walk_corpus(corpus_dir, scan._skip))
    for doc_id in sorted(paths):
        path = paths[doc_id]
        try:
            digest = _hash_file(path, max_bytes)
        except UnreadableDocumentError as exc:
            scan._skip(doc_id, exc.reason)
            continue
        scan.candidates.append(CorpusEntry(doc_id, path, digest))
    return scan


def _hash_file(path: Path, max_bytes: int) -> str:
    """Type and size checks plus a streamed sha256 (the file is not parsed)."""
    check_suffix(path.name)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UnreadableDocumentError(f"file too large: {size} > {max_bytes} bytes (文件过大)")
        if size == 0:
            raise UnreadableDocumentError("empty document (文档为空)")
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise UnreadableDocumentError(f"cannot read file: {exc.strerror} (无法读取)") from exc


def load_document(
    corpus_dir: Path, doc_id: str, max_bytes: int, options: LoadOptions | None = None
) -> Document:
    """Read and clean one document.

    Raises ``UnreadableDocumentError`` after logging the one warning for that file, so
    callers only record the skip. ``content_hash`` is computed from the bytes actually
    parsed (the file may have changed since the scan); store the document's own hash.
    """
    try:
        with decoding_document(doc_id):
            return _load(Path(corpus_dir), doc_id, max_bytes, options)
    except UnreadableDocumentError as exc:
        _warn(doc_id, exc.reason)
        raise
    except Exception as exc:  # a loader bug or hostile file: skip this one document only
        reason = f"cannot read document: {type(exc).__name__}: {exc}"[:_MAX_REASON_CHARS]
        _warn(doc_id, f"{reason} (无法读取)")
        raise UnreadableDocumentError(f"{reason} (无法读取)") from exc


def _warn(doc_id: str, reason: str) -> None:
    logger.warning("skipping %s: %s", doc_id, reason)


def _load(corpus_dir: Path, doc_id: str, max_bytes: int, options: LoadOptions | None) -> Document:
    relative = PurePosixPath(doc_id)
    if relative.is_absolute() or ".." in relative.parts:
        raise UnreadableDocumentError("path outside the corpus folder (路径不在语料目录内)")
    path = corpus_dir / relative
    if not os.path.lexists(path):
        path = corpus_dir / raw_relative_path(doc_id)  # a non-UTF-8 name, see safe_doc_id
        if not os.path.lexists(path):
            raise UnreadableDocumentError("file not found (文件不存在)")
    check_regular_inside(corpus_dir.resolve(), path)  # may have changed since the scan
    data = read_bytes(path, max_bytes)
    loaded = load_bytes(display_name(path.name), data, options)
    return build_document(doc_id, loaded, content_hash(data))


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
