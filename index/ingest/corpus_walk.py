"""Walk a corpus folder without leaving it: symlinks, loops, FIFOs, devices, odd file names.

A corpus is often a folder that someone else fills, so the walk must not be tricked into
indexing ``/etc/passwd`` through a symlink, blocking forever on a FIFO, or looping through a
link to a parent folder. Links are followed only when they resolve inside the corpus, every
real folder is entered at most once, and anything that is not a regular file is skipped with
a reason. File names that are not valid UTF-8 get a reversible, printable id.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from wenda.index.errors import UnreadableDocumentError

logger = logging.getLogger("wenda.corpus")

# Files that are never documents and not worth a warning (editor and OS droppings).
_JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini", "icon\r"})
_JUNK_PREFIXES = ("~$", ".~lock.", ".")
_JUNK_SUFFIXES = ("~", ".tmp", ".swp", ".bak", ".part", ".crdownload")
_HIDDEN_DIR_PREFIXES = (".", "__")

OUTSIDE = "symlink points outside the corpus folder (链接指向语料目录之外)"
BROKEN_LINK = "broken or looping symlink (链接无效)"
NOT_REGULAR = "not a regular file: {kind} (不是普通文件)"
LOOP = "folder already scanned: symlink loop or duplicate (目录链接循环或重复)"

# os.fsdecode turns each undecodable byte 0x80-0xff into a lone surrogate U+DC80-U+DCFF.
_SURROGATE = re.compile("[\udc80-\udcff]")
_ESCAPE = re.compile("%([89A-Fa-f][0-9A-Fa-f])")

Skip = Callable[[str, str], None]


def is_junk(name: str) -> bool:
    """Hidden files, Office lock files (~$x.docx), backups and OS metadata files."""
    lowered = name.lower()
    return (
        lowered in _JUNK_NAMES
        or name.startswith(_JUNK_PREFIXES)
        or lowered.endswith(_JUNK_SUFFIXES)
    )


def safe_doc_id(relative: str) -> str:
    """``relative`` itself when it is valid UTF-8, else each bad byte as ``%XX``.

    SQLite, JSON and URLs need valid UTF-8; a Latin-1 or GBK file name from an old archive
    must still be indexed, under an id that maps back to the file (``raw_relative_path``).
    """
    if not _SURROGATE.search(relative):
        return relative
    return _SURROGATE.sub(lambda m: f"%{ord(m.group()) - 0xDC00:02X}", relative)


def display_name(name: str) -> str:
    """A readable, valid-UTF-8 file name for titles: GB18030 if the bytes are that, else U+FFFD."""
    if not _SURROGATE.search(name):
        return name
    raw = os.fsencode(name)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace")


def raw_relative_path(doc_id: str) -> str:
    """Inverse of ``safe_doc_id`` (only consulted when ``doc_id`` is not a file itself)."""
    return _ESCAPE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), doc_id)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def inside(real_root: Path, path: Path) -> bool:
    """True when ``path`` (following every link) resolves inside ``real_root``."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return target == real_root or target.is_relative_to(real_root)


def check_regular_inside(real_root: Path, path: Path) -> None:
    """Raise ``UnreadableDocumentError`` unless ``path`` is a regular file in the corpus."""
    if not inside(real_root, path):
        raise UnreadableDocumentError(OUTSIDE if _resolves(path) else BROKEN_LINK)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise UnreadableDocumentError(f"cannot read file: {exc.strerror} (无法读取)") from exc
    if not stat.S_ISREG(mode):
        raise UnreadableDocumentError(NOT_REGULAR.format(kind=_kind(mode)))


def walk_corpus(root: Path, skip: Skip) -> Iterator[tuple[str, Path]]:
    """``(doc_id, path)`` of the regular files under ``root``, in no particular order.

    ``skip(doc_id, reason)`` is called for every entry that is refused (link outside, FIFO,
    device, loop); hidden folders and junk files are ignored silently.
    """
    real_root = root.resolve()
    seen: set[tuple[int, int]] = set()
    stack: list[Path] = [root]
    while stack:
        directory = stack.pop()
        rel_dir = _rel(root, directory)
        try:
            info = directory.stat()
            key = (info.st_dev, info.st_ino)
            if key in seen:
                skip(rel_dir, LOOP)
                continue
            seen.add(key)
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            skip(rel_dir or ".", f"cannot read folder: {exc.strerror} (无法读取目录)")
            continue
        for entry in entries:
            path = Path(entry.path)
            doc_id = _rel(root, path)
            try:
                link = entry.is_symlink()
                if link and not inside(real_root, path):
                    reason = OUTSIDE if _resolves(path) else BROKEN_LINK
                    skip(doc_id, reason)
                    continue
                mode = path.stat().st_mode  # follows a link that stays inside
            except OSError as exc:
                skip(doc_id, f"cannot read file: {exc.strerror} (无法读取)")
                continue
            if stat.S_ISDIR(mode):
                if not entry.name.startswith(_HIDDEN_DIR_PREFIXES):
                    stack.append(path)
            elif is_junk(entry.name):
                logger.debug("ignoring %s", doc_id)
            elif stat.S_ISREG(mode):
                yield doc_id, path
            else:
                skip(doc_id, NOT_REGULAR.format(kind=_kind(mode)))


def _resolves(path: Path) -> bool:
    try:
        path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return True


def _rel(root: Path, path: Path) -> str:
    return safe_doc_id(path.relative_to(root).as_posix()) if path != root else ""
