"""The Milvus backend of the store interface (``WENDA_STORE=milvus``).

The same code talks to Milvus Lite in process (``WENDA_MILVUS_URI`` a local ``.db`` path),
to ``milvus-lite server``, to Milvus Standalone/Distributed (``http://host:19530``) and to
Zilliz Cloud (its https endpoint + ``WENDA_MILVUS_TOKEN``). Versions, the current pointer
(a collection alias) and the history are all kept in Milvus, so several API replicas on
different machines serve one index; see ``milvus_schema`` for the layout.

The build lock is a file lock on the building machine: run builds from one place.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymilvus.exceptions import MilvusException
from wenda.index.store.base import IndexReader
from wenda.index.store.manifest import Manifest
from wenda.index.store.milvus_conn import MilvusConnection, is_missing, is_unreachable
from wenda.index.store.milvus_reader import MilvusReader
from wenda.index.store.milvus_schema import (
    ANALYZERS,
    HISTORY_PROPERTY,
    alias_name,
    collection_name,
    parse_collection,
)
from wenda.index.store.milvus_writer import MilvusWriter
from wenda.index.store.versions import exclusive_build_lock

log = logging.getLogger("wenda.milvus")


@dataclass(frozen=True)
class MilvusParams:
    uri: str
    token: str | None
    prefix: str
    lock_dir: Path  # where the build lock file lives (the building machine)
    ann_threshold: int
    hnsw_m: int
    hnsw_ef_construction: int
    hnsw_ef_search: int
    timeout: float = 10.0


def is_local_uri(uri: str) -> bool:
    """A path (Milvus Lite in this process) rather than a server address."""
    return "://" not in uri


class MilvusStore:
    """Connects at construction: an unreachable URI raises ``StoreUnavailableError``."""

    def __init__(self, params: MilvusParams) -> None:
        self.params = params
        uri = params.uri
        if is_local_uri(uri):
            Path(uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
            uri = str(Path(uri).expanduser())
        self.conn = MilvusConnection(uri, params.token, params.timeout)
        self.conn.call("list_aliases")  # a server that does not answer fails here, once
        self._alias = alias_name(params.prefix)
        self._analyzers: list[dict[str, Any]] = list(ANALYZERS)  # narrowed by the first build

    # --- Store ---------------------------------------------------------------------------
    def current(self) -> str | None:
        """One ``describe_alias`` call (~1 ms): cheap enough for the core's reload poll."""
        try:
            target = self.conn.call("describe_alias", self._alias)
        except MilvusException as exc:
            if is_unreachable(exc) or not self._alias_missing(exc):
                raise
            return None
        parsed = parse_collection(self.params.prefix, target.get("collection_name", ""))
        return parsed[1] if parsed and parsed[0] == "chunks" else None

    def open(self, version: str) -> MilvusReader:
        return MilvusReader.open(self.conn, self.params.prefix, version, self.params.hnsw_ef_search)

    def begin(self, previous: IndexReader | None, manifest: Manifest) -> MilvusWriter:
        if previous is not None and not isinstance(previous, MilvusReader):
            raise TypeError("a Milvus build copies only from a Milvus version")
        writer = MilvusWriter(
            self.conn,
            self.params.prefix,
            self._new_version(),
            manifest,
            previous,
            self.published(),
            self._analyzers,
            self._dense_params(),
        )
        self._analyzers = [writer.analyzer]
        return writer

    def published(self) -> list[str]:
        current = self.current()
        if current is None:
            return []
        info = self.conn.call(
            "describe_collection", collection_name(self.params.prefix, "chunks", current)
        )
        lineage = json.loads((info.get("properties") or {}).get(HISTORY_PROPERTY) or "[]")
        existing = self._versions()
        return [v for v in lineage if v in existing and v != current] + [current]

    def rollback(self) -> str:
        history = self.published()
        if len(history) < 2:
            raise FileNotFoundError("no previous index version to roll back to")
        previous = history[-2]
        self.conn.call(
            "alter_alias", collection_name(self.params.prefix, "chunks", previous), self._alias
        )
        log.info("rolled back the Milvus index to %s", previous)
        return previous

    def build_lock(self) -> contextlib.AbstractContextManager[None]:
        """A flock on the building machine (released by the OS if the process dies)."""
        return exclusive_build_lock(
            self.params.lock_dir / f"{self.params.prefix}.milvus-build.lock"
        )

    def cleanup(self, keep: int) -> list[str]:
        """Drop every version outside the newest ``keep`` of the history (never current)."""
        current = self.current()
        keepers = set(self.published()[-max(keep, 1) :]) | ({current} if current else set())
        removed: list[str] = []
        for name in self.conn.call("list_collections"):
            parsed = parse_collection(self.params.prefix, name)
            if parsed is None or parsed[1] in keepers:
                continue
            self.conn.call("drop_collection", name)
            if parsed[1] not in removed:
                removed.append(parsed[1])
        if removed:
            log.info("dropped Milvus index versions %s", ", ".join(removed))
        return removed

    def close(self) -> None:
        self.conn.close()

    # --- helpers -------------------------------------------------------------------------
    def _alias_missing(self, exc: MilvusException) -> bool:
        if is_missing(exc):
            return True
        return self._alias not in self.conn.call("list_aliases")["aliases"]

    def _versions(self) -> set[str]:
        """Versions whose chunks collection exists."""
        found = (
            parse_collection(self.params.prefix, n) for n in self.conn.call("list_collections")
        )
        return {p[1] for p in found if p is not None and p[0] == "chunks"}

    def _new_version(self) -> str:
        """Same format as the local store's versions; later builds sort later."""
        now = datetime.now(UTC)
        taken = self._versions() | {self.current() or ""}
        while (name := now.strftime("v%Y%m%dT%H%M%S%fZ")) in taken:
            now += timedelta(microseconds=1)
        return name

    def _dense_params(self) -> dict[str, Any]:
        p = self.params
        return {
            "ann_threshold": p.ann_threshold,
            "flat": {"index_type": "FLAT"},
            "hnsw": {
                "index_type": "HNSW",
                "params": {"M": p.hnsw_m, "efConstruction": p.hnsw_ef_construction},
            },
        }
