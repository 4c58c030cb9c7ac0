"""Turn operational write failures of a build into one ``IndexWriteError``.

A full disk or a read-only index folder surfaces from deep inside SQLite
(``database or disk is full``), FAISS (a ``RuntimeError`` with "write error"), numpy or
plain file writes, each with its own exception type and a long traceback. Operators need
one line: what failed, where, and that the previous version still serves (nothing is
published unless the whole version was written). ``index_writes`` wraps a build (CLI,
``/reindex`` jobs, the bot) and re-raises such failures as the domain error.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from wenda.index.errors import IndexWriteError, WendaError

_ERRNO_REASONS = {
    errno.ENOSPC: "disk_full",
    errno.EDQUOT: "disk_full",
    errno.EFBIG: "disk_full",  # over a file-size limit (RLIMIT_FSIZE, quota)
    errno.EROFS: "read_only",
    errno.EACCES: "permission_denied",
    errno.EPERM: "permission_denied",
    errno.EIO: "io_error",
}

# Message fragments of SQLite and FAISS errors (they carry no errno), lower case.
_TEXT_REASONS = (
    ("disk is full", "disk_full"),
    ("no space left", "disk_full"),
    ("file too large", "disk_full"),
    ("readonly database", "read_only"),
    ("read-only file system", "read_only"),
    ("permission denied", "permission_denied"),
    ("unable to open database file", "permission_denied"),
    ("disk i/o error", "io_error"),
    ("write error", "io_error"),
    ("could not open", "permission_denied"),
)


def write_failure(exc: BaseException) -> str | None:
    """The ``WRITE_REASONS`` key for an operational write failure, else None (a bug)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # look through the cause chain
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _ERRNO_REASONS:
            return _ERRNO_REASONS[current.errno]
        if isinstance(current, sqlite3.Error | RuntimeError | OSError):
            text = str(current).lower()
            for fragment, reason in _TEXT_REASONS:
                if fragment in text:
                    return reason
        current = current.__cause__ or current.__context__
    return None


def _path(exc: BaseException, fallback: Path) -> str:
    filename = getattr(exc, "filename", None)
    return str(filename) if filename else str(fallback)


@contextmanager
def index_writes(
    index_dir: Path, serving: Callable[[], str | None] | None = None
) -> Iterator[None]:
    """Re-raise disk-full, read-only and permission failures as ``IndexWriteError``.

    ``serving`` names the version that keeps serving (asked only when a write failed).
    """
    try:
        yield
    except WendaError:
        raise
    except Exception as exc:
        reason = write_failure(exc)
        if reason is None:
            raise
        version = None
        if serving is not None:
            try:
                version = serving()
            except Exception:  # the pointer may be unreadable too; the message says "none"
                version = None
        raise IndexWriteError(_path(exc, index_dir), reason, str(exc), version) from exc
