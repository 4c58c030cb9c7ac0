"""Real disk faults for tests: a tiny tmpfs (full disk) and a read-only bind mount.

Both need mount rights (root with CAP_SYS_ADMIN); without them the full disk falls back to
``RLIMIT_FSIZE`` in a subprocess and the read-only case to ``chmod`` for a non-root user.
"""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def _run(*command: str) -> bool:
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


@contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[bool]:
    """Mount a tmpfs of ``size`` at ``path``; yields False when mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield mounted
    finally:
        if mounted:
            _run("umount", "-l", str(path))


def file_size_limit(limit: int) -> Callable[[], None]:
    """A ``preexec_fn``: files over ``limit`` bytes fail with EFBIG (like a full disk)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` read-only for this process: a read-only bind mount, or chmod if not root."""
    if os.geteuid() == 0:
        if not _run("mount", "--bind", str(path), str(path)):
            raise PermissionError("cannot bind-mount (no mount rights)")
        try:
            if not _run("mount", "-o", "remount,ro,bind", str(path)):
                raise PermissionError("cannot remount read-only")
            yield
        finally:
            _run("umount", "-l", str(path))
        return
    modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
    for p, mode in modes.items():
        p.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        yield
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
