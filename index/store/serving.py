"""Which version serves: the current one if intact, else the newest intact published one.

Generic over ``Store`` backends. A damaged current version never takes the service down
(issue 10, item 6): the newest intact older version serves, and the reason is returned so
``Wenda.status().degraded`` and ``/readyz`` can say so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from wenda.index.errors import IndexDamagedError
from wenda.index.store.base import IndexReader, Store

log = logging.getLogger("wenda.store")


def open_serving(
    store: Store, damaged: dict[str, str] | None = None
) -> tuple[IndexReader | None, str | None]:
    """(reader, degraded reason). (None, None): no index yet; (None, reason): none intact.
    ``damaged``: versions already found damaged while serving (version → reason), skipped."""
    damaged = damaged or {}
    current = store.current()
    history = store.published()
    candidates = ([current] if current else []) + [v for v in reversed(history) if v != current]
    problems: list[str] = [f"{v}: {damaged[v]}" for v in candidates if v in damaged]
    if current is None and history:
        problems.append("CURRENT 指针无效或丢失 (CURRENT pointer invalid or missing)")
    for version in (v for v in candidates if v not in damaged):
        try:
            reader = store.open(version)
        except IndexDamagedError as exc:
            log.error("index version %s is damaged: %s", version, exc.reason)
            problems.append(f"{version}: {exc.reason}")
            continue
        if problems:
            reason = (
                f"正在使用较早的完好版本 {version} (serving older intact version); "
                + "; ".join(problems)
            )
            log.error("serving index version %s instead of the newest: %s", version, reason)
            return reader, reason
        return reader, None
    return None, ("; ".join(problems) or None)


class ReaderHolder:
    """The core's current reader, with leases: a swapped-out reader is closed as soon as
    the last request using it ends (not whenever garbage collection runs)."""

    def __init__(self, reader: IndexReader) -> None:
        self._lock = threading.Lock()
        self._current = reader
        self._leases: dict[int, int] = {id(reader): 0}
        self._retired: dict[int, IndexReader] = {}

    @property
    def current(self) -> IndexReader:
        return self._current

    @contextmanager
    def lease(self) -> Iterator[IndexReader]:
        with self._lock:
            reader = self._current
            self._leases[id(reader)] += 1
        try:
            yield reader
        finally:
            self._release(reader)

    def _release(self, reader: IndexReader) -> None:
        with self._lock:
            key = id(reader)
            self._leases[key] -= 1
            done = key in self._retired and self._leases[key] == 0
            if done:
                del self._retired[key], self._leases[key]
        if done:
            reader.close()

    def swap(self, reader: IndexReader) -> None:
        """Make ``reader`` current; close the old one now or when its last lease ends."""
        with self._lock:
            old = self._current
            self._current = reader
            self._leases.setdefault(id(reader), 0)
            idle = self._leases[id(old)] == 0
            if idle:
                del self._leases[id(old)]
            else:
                self._retired[id(old)] = old
        if idle:
            old.close()

    def open_readers(self) -> int:
        """Readers not yet closed: the current one plus retired ones still leased."""
        with self._lock:
            return 1 + len(self._retired)

    def close(self) -> None:
        with self._lock:
            readers = [self._current, *self._retired.values()]
            self._retired.clear()
        for reader in readers:
            reader.close()
