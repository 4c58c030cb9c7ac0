"""Open the core as soon as a usable index exists, however long that takes.

A server or bot that starts while the index is missing, damaged or being rebuilt must not
stay down until someone restarts it: after a failed first load it keeps watching the
store's published versions and opens the core when they change (``wenda index`` or
``wenda rollback`` in another process). The embedder is loaded once and kept across
attempts, so a retry costs one index load.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from wenda.index.errors import WendaError
from wenda.index.settings import Settings
from wenda.index.write_errors import index_writes

if TYPE_CHECKING:
    from wenda.index.core import Wenda
    from wenda.index.embedding.base import Embedder
    from wenda.index.store.base import Store

log = logging.getLogger("wenda.startup")

OnFailure = Callable[[BaseException], None]


def open_when_ready(
    settings: Settings,
    stop: threading.Event,
    *,
    build_if_missing: bool = True,
    on_failure: OnFailure | None = None,
    interval: float | None = None,
) -> Wenda | None:
    """The opened core, or None once ``stop`` is set.

    The first attempt may build a missing index; later ones only load what another
    process published. ``on_failure`` hears about every failed attempt (for /readyz).
    """
    from wenda.index.core import Wenda
    from wenda.index.embedding.base import load_embedder

    wait = max(interval if interval is not None else settings.reload_check_seconds, 0.2)
    embedder: Embedder | None = None
    build = build_if_missing
    watch = PublishedVersions(settings)
    try:
        while not stop.is_set():
            seen = watch.fingerprint()
            try:
                embedder = embedder or load_embedder(settings)
                with index_writes(settings.index_dir):  # a first build on a full disk
                    return Wenda.open(settings, embedder=embedder, build_if_missing=build)
            except Exception as exc:  # every failure is retried; the reason goes to the log
                _report(exc)
                if on_failure is not None:
                    on_failure(exc)
            build = False
            while not stop.wait(wait):
                now = watch.fingerprint()
                if now != seen:
                    log.info("published index versions changed (%s); loading again", now[0])
                    break
        return None
    finally:
        watch.close()


class PublishedVersions:
    """What a new publish or a rollback changes: the current pointer and the history."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None

    def fingerprint(self) -> tuple[str | None, tuple[str, ...]]:
        from wenda.index.store.base import open_store

        try:
            if self._store is None:
                self._store = open_store(self.settings)
            return self._store.current(), tuple(self._store.published())
        except Exception as exc:  # an unreachable remote store: retried on the next poll
            self.close()
            return (f"unavailable: {exc}", ())

    def close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()


def _report(exc: BaseException) -> None:
    hint = "waiting for a usable version (wenda index / wenda rollback)"
    if isinstance(exc, WendaError):
        log.error("index not usable: %s; %s", exc.message, hint)
    else:
        log.error("could not open the index; %s", hint, exc_info=exc)
