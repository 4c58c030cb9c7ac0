"""The embedded store: FAISS + bm25s + SQLite in versioned directories (the default).

Versions, the atomic CURRENT pointer, the published history and the build lock live in
``versions.py``; one version's files are read by ``local_reader.py`` and written by
``local_writer.py``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from wenda.index.errors import IndexDamagedError
from wenda.index.store.base import IndexReader, IndexWriter
from wenda.index.store.dense import DenseParams
from wenda.index.store.local_reader import LocalReader
from wenda.index.store.local_writer import LocalWriter
from wenda.index.store.manifest import Manifest
from wenda.index.store.versions import VersionStore


class LocalStore:
    """``Store`` over ``index_dir`` (see ``versions.py`` for the layout)."""

    def __init__(self, index_dir: Path, params: DenseParams | None = None) -> None:
        self.versions = VersionStore(index_dir)
        self.params = params or DenseParams()

    def current(self) -> str | None:
        return self.versions.current()

    def open(self, version: str) -> LocalReader:
        try:
            path = self.versions.path(version)
        except ValueError:
            raise IndexDamagedError(version, "不是版本名 (not a version name)") from None
        return LocalReader.load(path, self.params.hnsw_ef_search)

    def begin(self, previous: IndexReader | None, manifest: Manifest) -> IndexWriter:
        if previous is not None and not isinstance(previous, LocalReader):
            raise TypeError("a local build copies only from a local index version")
        return LocalWriter(self.versions, previous, manifest, self.params)

    def published(self) -> list[str]:
        return self.versions.published()

    def rollback(self) -> str:
        versions = self.versions.published()
        if len(versions) >= 2:
            self.open(versions[-2]).close()  # never point CURRENT at a damaged version
        return self.versions.rollback()

    def build_lock(self) -> AbstractContextManager[None]:
        return self.versions.build_lock()

    def cleanup(self, keep: int) -> list[str]:
        return self.versions.cleanup(keep)

    def close(self) -> None:
        """Nothing to release: readers hold their own files."""
