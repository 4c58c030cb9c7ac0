"""Checks that a local index version is whole before it serves (issue 10, item 6).

Proportionate to size: every file's size always; its sha256 while the version is small
enough to hash in well under a second (``HASH_LIMIT_BYTES``), and for a larger one after it
serves (``verify_hashes``, run by the core on a background thread, which swaps to an older
intact version on a mismatch); SQLite's ``quick_check``; and the chunk count agreeing
across manifest, records, ids, vectors, FAISS and BM25.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from wenda.index.errors import IndexDamagedError
from wenda.index.store.manifest import FileEntry, Manifest

HASH_LIMIT_BYTES = 256 * 1024 * 1024
"""Versions up to this total size are fully hashed on load (~0.3 s at 1 GB/s)."""
MANIFEST = "manifest.json"


def file_entries(directory: Path) -> dict[str, FileEntry]:
    """Size and sha256 of every file of a staging version except the manifest itself."""
    entries: dict[str, FileEntry] = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_file() and rel != MANIFEST:
            entries[rel] = FileEntry(path.stat().st_size, _sha256(path))
    return entries


def load_manifest(directory: Path, version: str) -> Manifest:
    try:
        return Manifest.load(directory / MANIFEST)
    except FileNotFoundError:
        raise IndexDamagedError(version, "缺少 manifest.json (manifest missing)") from None
    except (ValueError, TypeError, KeyError, OSError) as exc:
        raise IndexDamagedError(
            version, f"manifest.json 无法读取 (manifest unreadable: {exc})"
        ) from None


def verify_files(directory: Path, version: str, manifest: Manifest) -> bool:
    """Every listed file present with its recorded size, and its hash when the version is
    small enough; False when the hashes are left for ``verify_hashes``."""
    if not manifest.files:
        raise IndexDamagedError(version, "manifest 没有文件清单 (manifest lists no files)")
    total = 0
    for rel, entry in manifest.files.items():
        path = directory / rel
        try:
            size = path.stat().st_size
        except OSError:
            raise IndexDamagedError(version, f"缺少文件 {rel} (file missing)") from None
        if size != entry.size:
            raise IndexDamagedError(version, f"{rel} 大小不符 (size {size}, expected {entry.size})")
        total += size
    if total > HASH_LIMIT_BYTES:
        return False
    verify_hashes(directory, version, manifest)
    return True


def verify_hashes(directory: Path, version: str, manifest: Manifest) -> None:
    """Every listed file's sha256 as recorded (a flipped byte keeps the size)."""
    for rel, entry in manifest.files.items():
        try:
            digest = _sha256(directory / rel)
        except OSError:
            raise IndexDamagedError(version, f"缺少文件 {rel} (file missing)") from None
        if digest != entry.sha256:
            raise IndexDamagedError(version, f"{rel} 校验和不符 (sha256 mismatch)")


def verify_counts(version: str, counts: dict[str, int]) -> None:
    """All parts of a version must hold the same number of chunks."""
    if len(set(counts.values())) > 1:
        detail = ", ".join(f"{k}={v}" for k, v in counts.items())
        raise IndexDamagedError(version, f"各部分数量不一致 (counts disagree: {detail})")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
