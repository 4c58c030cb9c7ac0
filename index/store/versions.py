"""Versioned index directories with an atomic CURRENT pointer and a published history.

Layout under ``index_dir``::

    CURRENT                 name of the current version (replaced atomically)
    HISTORY                 published versions, oldest first, one per line (replaced atomically)
    build.lock              held while a build runs (fcntl, released if the process dies)
    versions/<version>/     one complete, immutable index
    versions/.staging-*     a build in progress; never read, removed by the next build

A crash or kill at any point leaves CURRENT naming a complete version: a version
directory is renamed into place only after every file in it is written and fsynced, and
CURRENT is switched with ``os.replace`` after that; HISTORY is appended last. So a
directory that is in neither HISTORY nor CURRENT was never published (a kill right after
the rename) and cleanup removes it instead of counting it as a version to keep.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from wenda.index.errors import BuildInProgressError

log = logging.getLogger("wenda.versions")
STAGING_PREFIX = ".staging-"
VERSION_NAME = re.compile(r"v\d{8}T\d{12}Z(-\d+)?")
"""What a version name looks like; anything else in CURRENT is garbage, never a path."""


class VersionStore:
    def __init__(self, index_dir: Path) -> None:
        self.root = Path(index_dir)
        self.versions_dir = self.root / "versions"
        self.pointer = self.root / "CURRENT"
        self.history_file = self.root / "HISTORY"

    def current(self) -> str | None:
        """The current version name (a ~30-byte read: cheap enough for every request).

        None when there is no pointer, or it holds garbage, or names no directory."""
        try:
            name = self.pointer.read_text("utf-8", errors="replace").strip()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except OSError as exc:
            log.warning("cannot read %s: %s", self.pointer, exc)
            return None
        if not VERSION_NAME.fullmatch(name) or not (self.versions_dir / name).is_dir():
            return None
        return name

    def path(self, version: str) -> Path:
        if not VERSION_NAME.fullmatch(version):
            raise ValueError(f"not a version name: {version!r}")
        return self.versions_dir / version

    def _history(self) -> list[str]:
        try:
            lines = self.history_file.read_text("utf-8", errors="replace").split()
        except OSError:
            return []
        return [n for n in lines if VERSION_NAME.fullmatch(n)]

    def published(self) -> list[str]:
        """The published history, oldest first, ending with CURRENT when CURRENT is valid.

        Entries after CURRENT (rolled-back versions, a kill mid-rollback) are not history;
        CURRENT missing from HISTORY (a kill before HISTORY was appended) is added.
        """
        history = [n for n in self._history() if (self.versions_dir / n).is_dir()]
        current = self.current()
        if current is None:
            return history
        if current in history:
            return history[: history.index(current) + 1]
        return [*history, current]

    def new_staging(self) -> Path:
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        path = self.versions_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
        path.mkdir()
        return path

    def publish(self, staging: Path) -> str:
        """Move a fully written staging dir into place and point CURRENT at it."""
        version = self._new_name()
        for file in staging.rglob("*"):
            if file.is_file():
                _fsync_file(file)
        final = self.versions_dir / version
        os.rename(staging, final)
        _fsync_dir(self.versions_dir)
        history = self.published()
        self._point_to(version)
        self._write_history([*history, version])
        return version

    def _new_name(self) -> str:
        base = datetime.now(UTC).strftime("v%Y%m%dT%H%M%S%fZ")
        name, n = base, 1
        while (self.versions_dir / name).exists():
            name, n = f"{base}-{n}", n + 1
        return name

    def rollback(self) -> str:
        """Point CURRENT back at the version published before it; drop it from history."""
        versions = self.published()
        if len(versions) < 2:
            raise FileNotFoundError("no previous index version to roll back to")
        previous = versions[-2]
        self._point_to(previous)
        self._write_history(versions[:-1])
        return previous

    def _point_to(self, version: str) -> None:
        _atomic_write(self.root, self.pointer, version + "\n")

    def _write_history(self, versions: list[str]) -> None:
        _atomic_write(self.root, self.history_file, "".join(f"{v}\n" for v in versions))

    def cleanup(self, keep: int) -> list[str]:
        """Remove staging dirs, unpublished dirs and all but the ``keep`` newest published
        versions (never CURRENT). Call only while holding the build lock."""
        removed: list[str] = []
        if not self.versions_dir.is_dir():
            return removed
        published = self.published()
        current = self.current()
        keep_names = set(published[-keep:]) | ({current} if current else set())
        if not published and current is None:
            # Pre-history layout or a garbage pointer: keep the newest dirs, never guess less.
            names = (p.name for p in self.versions_dir.iterdir() if VERSION_NAME.fullmatch(p.name))
            keep_names = set(sorted(names)[-keep:])
        for path in sorted(self.versions_dir.iterdir()):
            if path.name not in keep_names:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
        if published:
            self._write_history([v for v in published if v in keep_names])
        for tmp in self.root.glob("*.tmp"):
            tmp.unlink(missing_ok=True)
        return removed

    def build_lock(self) -> contextlib.AbstractContextManager[None]:
        """Exclusive across threads and processes; the OS drops it if the process dies."""
        return exclusive_build_lock(self.root / "build.lock")


def _atomic_write(directory: Path, target: Path, text: str) -> None:
    tmp = directory / f"{target.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.write_text(text, "utf-8")
    _fsync_file(tmp)
    os.replace(tmp, target)
    _fsync_dir(directory)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync_file(path)


@contextlib.contextmanager
def exclusive_build_lock(path: Path) -> Iterator[None]:
    """A non-blocking flock on ``path``: one build at a time on this machine, any backend.

    Raises BuildInProgressError at once when another thread or process holds it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildInProgressError(
                "索引正在重建中，请稍后再试 (an index build is already running)"
            ) from None
        yield
    finally:
        os.close(fd)
