"""Background reindex jobs: one build at a time, progress visible while it runs.

A build takes seconds to minutes, far too long for a request, so ``POST /reindex`` starts a
thread and returns a job id to poll. A dedicated thread (not the anyio pool) keeps a long
build from holding a worker slot that ``/ask`` needs.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wenda.index.errors import WendaError
from wenda.index.models import BuildReport, Progress

log = logging.getLogger("wenda.api")

BuildFn = Callable[[Progress], BuildReport]

FAILED_INTERNAL = (
    "重建索引失败：内部错误，详见服务器日志。 Reindex failed: internal error (see server log)."
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Job:
    job_id: str
    created_at: str
    status: str = "queued"
    stage: str | None = None
    done: int = 0
    total: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    report: dict[str, Any] | None = None
    error: str | None = None

    def snapshot(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


class JobConflictError(Exception):
    """A build is already queued or running; ``job`` is its snapshot."""

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__(job["job_id"])
        self.job = job


class JobManager:
    """Runs at most one build at a time and remembers the last ``keep`` jobs."""

    def __init__(self, keep: int = 50) -> None:
        self._keep = keep
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, build: BuildFn) -> dict[str, Any]:
        """Start ``build(progress)`` in a thread; raise JobConflictError if one is active."""
        with self._lock:
            active = self._active()
            if active is not None:
                raise JobConflictError(active.snapshot())
            job = Job(job_id=uuid.uuid4().hex, created_at=_now())
            self._jobs[job.job_id] = job
            while len(self._jobs) > self._keep:
                self._jobs.popitem(last=False)
            thread = threading.Thread(
                target=self._run, args=(job, build), name=f"reindex-{job.job_id[:8]}", daemon=True
            )
            self._thread = thread
            snapshot = job.snapshot()
        thread.start()
        return snapshot

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return job.snapshot() if job is not None else None

    def active(self) -> dict[str, Any] | None:
        with self._lock:
            job = self._active()
            return job.snapshot() if job is not None else None

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running build; True if none is left running."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _active(self) -> Job | None:
        return next((j for j in reversed(self._jobs.values()) if j.active), None)

    def _run(self, job: Job, build: BuildFn) -> None:
        def progress(stage: str, done: int, total: int) -> None:
            with self._lock:
                job.stage, job.done, job.total = stage, done, total

        with self._lock:
            job.status, job.started_at = "running", _now()
        began = time.perf_counter()
        try:
            report = build(progress)
        except WendaError as exc:
            log.warning("reindex job %s failed: %s", job.job_id, exc.message)
            self._finish(job, "failed", error=exc.message)
        except Exception:
            log.exception("reindex job %s crashed", job.job_id)
            self._finish(job, "failed", error=FAILED_INTERNAL)
        else:
            log.info(
                "reindex job %s done in %.1fs: version %s, published=%s",
                job.job_id,
                time.perf_counter() - began,
                report.version,
                report.published,
            )
            self._finish(job, "succeeded", report=report.to_dict())

    def _finish(
        self,
        job: Job,
        status: str,
        *,
        report: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        with self._lock:
            job.status, job.report, job.error, job.finished_at = status, report, error, _now()
