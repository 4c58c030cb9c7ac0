"""Versioned index directories with an atomic CURRENT pointer.

Layout under ``index_dir``::

    CURRENT                 name of the published version (replaced atomically)
    build.lock              held while a build runs (fcntl, released if the process dies)
    versions/<version>/     one complete, immutable index
    versions/.staging-*     a build in progress; never read, removed by the next build

A crash or kill at any point leaves CURRENT naming a complete version: a version
directory is renamed into place only after every file in it is written and fsynced,
and CURRENT is switched with ``os.replace`` after that.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from wenda.index.errors import BuildInProgressError

log = logging.getLogger("wenda.versions")
STAGING_PREFIX = ".staging-"


class VersionStore:
    def __init__(self, index_dir: Path) -> None:
        self.root = Path(index_dir)
        self.versions_dir = self.root / "versions"
        self.pointer = self.root / "CURRENT"

    def current(self) -> str | None:
        """The published version name (a ~30-byte read: cheap enough for every request)."""
        try:
            name = self.pointer.read_text("utf-8").strip()
        except FileNotFoundError:
            return None
        return name if name and (self.versions_dir / name).is_dir() else None

    def path(self, version: str) -> Path:
        return self.versions_dir / version

    def published(self) -> list[str]:
        """All complete versions, oldest first (names sort by creation time)."""
        if not self.versions_dir.is_dir():
            return []
        return sorted(
            p.name for p in self.versions_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
        )

    def new_staging(self) -> Path:
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        path = self.versions_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
        path.mkdir()
        return path

    def publish(self, staging: Path) -> str:
        """Move a fully written staging dir into place and point CURRENT at it."""
        version = datetime.now(UTC).strftime("v%Y%m%dT%H%M%S%fZ")
        for file in staging.rglob("*"):
            if file.is_file():
                _fsync_file(file)
        final = self.versions_dir / version
        os.rename(staging, final)
        _fsync_dir(self.versions_dir)
        self._point_to(version)
        return version

    def rollback(self) -> str:
        """Point CURRENT back at the version published before the current one."""
        versions = self.published()
        current = self.current()
        if current not in versions or versions.index(current) == 0:
            raise FileNotFoundError("no previous index version to roll back to")
        previous = versions[versions.index(current) - 1]
        self._point_to(previous)
        return previous

    def _point_to(self, version: str) -> None:
        tmp = self.root / f"CURRENT.{uuid.uuid4().hex[:8]}.tmp"
        tmp.write_text(version + "\n", "utf-8")
        _fsync_file(tmp)
        os.replace(tmp, self.pointer)
        _fsync_dir(self.root)

    def cleanup(self, keep: int) -> list[str]:
        """Remove stale staging dirs and all but the ``keep`` newest versions (never CURRENT).

        Call only while holding the build lock, so no live build's staging dir is removed.
        """
        removed: list[str] = []
        if not self.versions_dir.is_dir():
            return removed
        for path in self.versions_dir.iterdir():
            if path.name.startswith(STAGING_PREFIX):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
        current = self.current()
        versions = self.published()
        for name in versions[: max(0, len(versions) - keep)]:
            if name != current:
                shutil.rmtree(self.versions_dir / name, ignore_errors=True)
                removed.append(name)
        for tmp in self.root.glob("CURRENT.*.tmp"):
            tmp.unlink(missing_ok=True)
        return removed

    @contextlib.contextmanager
    def build_lock(self) -> Iterator[None]:
        """Exclusive across threads and processes; the OS drops it if the process dies."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "build.lock", os.O_RDWR | os.O_CREAT, 0o644)
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


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync_file(path)
