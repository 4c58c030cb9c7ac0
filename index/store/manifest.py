"""The manifest of an index version: what built it, and a content hash per document.

The builder compares the previous manifest with the corpus to decide what to re-embed,
and forces a full rebuild when the model or the chunking/cleaning recipe changed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT_VERSION = 2  # 2: stable chunk ids, ids.npy + vectors.npy, per-file sizes and hashes
# Bump when cleaning/sentence-splitting/chunking code changes its output, to force a rebuild.
PIPELINE_VERSION = 1


@dataclass
class DocEntry:
    content_hash: str
    title: str
    chunks: int
    indexed_at: str


@dataclass
class FileEntry:
    """Size and sha256 of one file of a version, checked when the version is loaded."""

    size: int
    sha256: str


@dataclass
class Manifest:
    model: str
    dim: int
    chunker: dict[str, Any]
    tokenizer: str
    documents: dict[str, DocEntry] = field(default_factory=dict)
    chunks: int = 0
    dense_index: str = "flat"
    created_at: str = ""
    format: int = FORMAT_VERSION
    files: dict[str, FileEntry] = field(default_factory=dict)  # path in the version dir → entry
    sentence_states: bool = False  # chunk records carry late-chunked sentence states

    def recipe(self) -> dict[str, Any]:
        """Everything that, when changed, invalidates all stored vectors or chunks."""
        return {
            "format": self.format,
            "model": self.model,
            "dim": self.dim,
            "chunker": self.chunker,
            "tokenizer": self.tokenizer,
            "sentence_states": self.sentence_states,
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1), "utf-8")

    @classmethod
    def load(cls, path: Path) -> Manifest:
        data = json.loads(path.read_text("utf-8"))
        docs = {k: DocEntry(**v) for k, v in data.pop("documents", {}).items()}
        files = {k: FileEntry(**v) for k, v in data.pop("files", {}).items()}
        return cls(documents=docs, files=files, **data)


def chunker_params(target: int, maximum: int, overlap: int) -> dict[str, Any]:
    return {
        "target_chars": target,
        "max_chars": maximum,
        "overlap_sentences": overlap,
        "pipeline": PIPELINE_VERSION,
    }
