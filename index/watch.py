"""Rebuild the index by itself when documents change (``WENDA_WATCH=1``).

``watchfiles`` (Rust notify) reports changes under the corpus folder; it only yields once
the folder has been quiet for ``watch_debounce_seconds``, so a burst of edits (copying a
folder in, an editor's save dance) gives one incremental build. Builds run one at a time in
the watcher's own thread: changes made during a build are collected by watchfiles and yield
exactly one more build afterwards. A build another process holds the lock for is retried
after the next quiet period. Outcomes go to the log, to ``status()`` (for ``/readyz``) and to
listeners (``/metrics``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from wenda.index.errors import BuildInProgressError, WendaError
from wenda.index.models import BuildReport
from wenda.index.settings import Settings

log = logging.getLogger("wenda.watch")

Rebuild = Callable[[], BuildReport | None]
"""Runs one incremental build; None when there is nothing to build with yet (still loading)."""


@dataclass(frozen=True)
class WatchBuild:
    """One automatic build: when, how long, and what came of it."""

    started_at: str  # ISO 8601, UTC
    seconds: float
    changes: int  # file events that triggered it
    ok: bool
    error: str | None = None
    report: BuildReport | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        report = self.report
        data["report"] = None
        if report is not None:
            data["report"] = {
                "version": report.version,
                "published": report.published,
                "added": len(report.added),
                "changed": len(report.changed),
                "removed": len(report.removed),
                "skipped": len(report.skipped),
                "chunks_total": report.chunks_total,
            }
        return data


Listener = Callable[[WatchBuild], None]


class Rebuilder(Protocol):
    """What the watcher needs of a core: an incremental rebuild that swaps the result in."""

    def reindex(self) -> BuildReport: ...


class CorpusWatcher:
    """Watches one folder in a daemon thread; ``start()`` / ``stop()``."""

    def __init__(
        self,
        corpus_dir: Path,
        rebuild: Rebuild,
        settle_seconds: float,
        ignore_paths: Sequence[Path] = (),
    ) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.ignore_paths = tuple(Path(p).resolve() for p in ignore_paths)  # e.g. the index dir
        self._rebuild = rebuild
        self.settle_ms = max(1, int(settle_seconds * 1000))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[Listener] = []
        self.builds_total = 0
        self.failures_total = 0
        self.building = False
        self.last_build: WatchBuild | None = None
        self.ready = threading.Event()  # set once the OS watch is in place

    def add_listener(self, listener: Listener) -> None:
        """``listener(build)`` runs in the watcher thread after every automatic build."""
        self._listeners.append(listener)

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="wenda-watch", daemon=True)
        self._thread.start()
        log.info(
            "watching %s (rebuild after %.1f s of quiet)", self.corpus_dir, self.settle_ms / 1000
        )

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def status(self) -> dict[str, Any]:
        last = self.last_build
        return {
            "enabled": True,
            "corpus_dir": str(self.corpus_dir),
            "building": self.building,
            "builds": self.builds_total,
            "failures": self.failures_total,
            "last_build": None if last is None else last.to_dict(),
        }

    # --- the loop ------------------------------------------------------------------------
    def _run(self) -> None:
        import watchfiles

        pending = 0  # events not yet built (a retry after "another build holds the lock")
        while not self._stop.is_set():
            try:
                for changes in self._watch(watchfiles):
                    if changes:
                        pending += len(changes)
                    if pending and not self._stop.is_set():
                        pending = 0 if self._build_once(pending) else pending
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("corpus watch failed; restarting it in 5 s")
                self._stop.wait(5.0)

    def _watch(self, watchfiles: Any) -> Any:
        """watchfiles' generator; the first empty yield (timeout) means the watch is set up."""
        for changes in watchfiles.watch(
            self.corpus_dir,
            watch_filter=watchfiles.DefaultFilter(ignore_paths=self.ignore_paths),
            step=self.settle_ms,  # yield once the folder was quiet this long ...
            debounce=max(self.settle_ms * 20, 60_000),  # ... or at the latest after this
            stop_event=self._stop,
            rust_timeout=max(self.settle_ms, 200),
            yield_on_timeout=True,
        ):
            self.ready.set()
            yield changes

    def _build_once(self, changes: int) -> bool:
        """One build; False when it should be retried (another build holds the lock)."""
        started = datetime.now(UTC).isoformat(timespec="seconds")
        t0 = time.perf_counter()
        self.building = True
        try:
            report = self._rebuild()
        except BuildInProgressError:
            log.info("corpus changed but another build is running; retrying after it")
            return False
        except WendaError as exc:
            build = WatchBuild(started, time.perf_counter() - t0, changes, False, exc.message)
        except Exception as exc:  # a failed build keeps the current version serving
            log.exception("automatic rebuild failed; still serving the current version")
            build = WatchBuild(started, time.perf_counter() - t0, changes, False, repr(exc))
        else:
            if report is None:
                return False  # core not loaded yet; its own load builds from the corpus
            build = WatchBuild(started, time.perf_counter() - t0, changes, True, None, report)
        finally:
            self.building = False
        self._record(build)
        return True

    def _record(self, build: WatchBuild) -> None:
        self.builds_total += 1
        if not build.ok:
            self.failures_total += 1
            log.error("automatic rebuild after %d changes failed: %s", build.changes, build.error)
        elif build.report is not None:
            r = build.report
            log.warning(  # WARNING: visible at the CLI's default log level
                "corpus changed (%d events): rebuilt in %.2f s, %s %s; %d added, %d changed, "
                "%d removed, %d skipped",
                build.changes,
                build.seconds,
                "published" if r.published else "unchanged, kept",
                r.version,
                len(r.added),
                len(r.changed),
                len(r.removed),
                len(r.skipped),
            )
            for path, reason in r.skipped:
                log.warning("skipped %s: %s", path, reason)
        self.last_build = build
        for listener in list(self._listeners):
            try:
                listener(build)
            except Exception:
                log.warning("watch listener failed", exc_info=True)


def corpus_watcher(
    settings: Settings, get_core: Callable[[], Rebuilder | None]
) -> CorpusWatcher | None:
    """The watcher ``wenda serve``/``wenda bot`` run when ``WENDA_WATCH=1`` (None when off).

    ``get_core`` returns the running core or None while it is still loading (the load itself
    builds from the corpus, so nothing is lost).
    """
    if not settings.watch:
        return None

    def rebuild() -> BuildReport | None:
        core = get_core()
        return None if core is None else core.reindex()

    return CorpusWatcher(
        settings.corpus_dir,
        rebuild,
        settings.watch_debounce_seconds,
        ignore_paths=[settings.index_dir],
    )
