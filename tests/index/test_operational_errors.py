"""Full disk and read-only index folder: one clear line, non-zero exit, the old version serves
(issue 10 item 12). Real mounts (tmpfs, read-only bind) where allowed, real subprocesses."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from wenda.index.errors import IndexWriteError
from wenda.index.write_errors import index_writes, write_failure

from tests.index.disk_faults import file_size_limit, read_only, small_tmpfs

REPO = Path(__file__).resolve().parents[2]
SENTENCE = "第{}号文件规定，成渝两地第{}批合作项目涉及交通、产业、生态与公共服务。"


def _env(root: Path, index_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "WENDA_CORPUS_DIR": str(root / "corpus"),
        "WENDA_INDEX_DIR": str(index_dir),
        "WENDA_MODEL": "hashing",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }


def _wenda(
    root: Path, index_dir: Path, *args: str, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wenda.index.cli", *args],
        cwd=root,
        env=_env(root, index_dir),
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,  # type: ignore[call-overload]
    )


def _corpus(root: Path) -> None:
    shutil.copytree(REPO / "corpus", root / "corpus")


def _grow_corpus(root: Path) -> None:
    """A document big enough that its new version cannot fit on the small disk."""
    text = "\n".join(SENTENCE.format(i, i * 7) for i in range(12_000))
    (root / "corpus" / "大文件.txt").write_text(text, "utf-8")


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("…")]


def _assert_one_clear_line(result: subprocess.CompletedProcess[str], reason: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = _error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert reason in lines[0] and "仍在使用" in lines[0] and "still serving" in lines[0]


def test_full_disk_prints_one_line_and_keeps_the_previous_version(tmp_path: Path) -> None:
    _corpus(tmp_path)
    with small_tmpfs(tmp_path / "disk", "1m") as mounted:
        index_dir = tmp_path / "disk" / "idx" if mounted else tmp_path / "idx"
        first = _wenda(tmp_path, index_dir, "index")
        assert first.returncode == 0, first.stderr
        before = (index_dir / "CURRENT").read_text().strip()
        _grow_corpus(tmp_path)
        limit = {} if mounted else {"preexec_fn": file_size_limit(200_000)}
        result = _wenda(tmp_path, index_dir, "index", **limit)
        _assert_one_clear_line(result, "磁盘已满")
        assert before in result.stderr
        assert (index_dir / "CURRENT").read_text().strip() == before
        status = _wenda(tmp_path, index_dir, "status")
        assert status.returncode == 0 and before in status.stdout


def test_read_only_index_folder_prints_one_line(tmp_path: Path) -> None:
    _corpus(tmp_path)
    index_dir = tmp_path / "idx"
    assert _wenda(tmp_path, index_dir, "index").returncode == 0
    before = (index_dir / "CURRENT").read_text().strip()
    _grow_corpus(tmp_path)
    try:
        with read_only(index_dir):
            result = _wenda(tmp_path, index_dir, "index")
            rollback = _wenda(tmp_path, index_dir, "rollback")
    except PermissionError as exc:
        pytest.skip(f"no way to make a folder read-only here: {exc}")
    _assert_one_clear_line(result, "只读" if os.geteuid() == 0 else "没有写入权限")
    assert rollback.returncode != 0 and "Traceback" not in rollback.stderr
    assert (index_dir / "CURRENT").read_text().strip() == before


def test_write_failures_are_recognised_through_the_cause_chain() -> None:
    assert write_failure(sqlite3.OperationalError("database or disk is full")) == "disk_full"
    assert write_failure(OSError(errno.EROFS, "Read-only file system")) == "read_only"
    faiss = RuntimeError("Error in faiss::FileIOWriter: 'ret == (n)' failed: write error")
    wrapped = ValueError("saving failed")
    wrapped.__cause__ = faiss
    assert write_failure(wrapped) == "io_error"
    assert write_failure(KeyError("a bug")) is None
    with pytest.raises(IndexWriteError) as caught, index_writes(Path("/x"), lambda: "v1"):
        raise OSError(errno.ENOSPC, "No space left on device", "/x/versions/a/chunks.sqlite")
    assert caught.value.reason == "disk_full" and caught.value.serving == "v1"
    assert caught.value.path == "/x/versions/a/chunks.sqlite"
    with pytest.raises(KeyError), index_writes(Path("/x")):
        raise KeyError("bugs are not hidden")
