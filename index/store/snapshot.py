"""One loaded, immutable index version: store + FAISS + BM25, ready to search.

The core swaps whole snapshots; a request keeps the snapshot it started with, so a
rebuild or hot reload never changes data under a running query.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faiss
from wenda.index.settings import Settings
from wenda.index.store.dense import load_dense_index
from wenda.index.store.lexical import LexicalIndex
from wenda.index.store.manifest import Manifest
from wenda.index.store.records import ChunkStore

FILES = ("manifest.json", "chunks.sqlite", "dense.faiss", "lexical")


@dataclass
class Snapshot:
    version: str
    path: Path
    manifest: Manifest
    store: ChunkStore
    dense: faiss.Index
    lexical: LexicalIndex

    @classmethod
    def load(cls, path: Path, settings: Settings) -> Snapshot:
        manifest = Manifest.load(path / "manifest.json")
        return cls(
            version=path.name,
            path=path,
            manifest=manifest,
            store=ChunkStore(path / "chunks.sqlite"),
            dense=load_dense_index(path / "dense.faiss", settings),
            lexical=LexicalIndex.load(path / "lexical"),
        )

    @property
    def chunk_count(self) -> int:
        return self.manifest.chunks

    def close(self) -> None:
        self.store.close()
