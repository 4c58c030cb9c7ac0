"""A real ``wenda serve`` (and ``wenda index``) in subprocesses, for the reliability tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.api.conftest import REPO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wenda_env(root: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "WENDA_CORPUS_DIR": str(root / "corpus"),
        "WENDA_INDEX_DIR": str(root / "idx"),
        "WENDA_MODEL": "hashing",
        "WENDA_RELOAD_CHECK_SECONDS": "0.2",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    env.update(extra)
    return env


def run_wenda(root: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """``wenda ARGS`` in a subprocess (cwd = root, so no stray .env is read)."""
    return subprocess.run(
        [sys.executable, "-m", "wenda.index.cli", *args],
        cwd=root,
        env=wenda_env(root, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )


class ServeProcess:
    """``wenda serve`` on a free port; its stderr goes to ``log_path``."""

    def __init__(self, root: Path, **extra: str) -> None:
        self.root = root
        self.port = free_port()
        self.log_path = root / f"serve-{self.port}.log"
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def __enter__(self) -> ServeProcess:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "wenda.index.cli", "serve", "--port", str(self.port)],
                cwd=self.root,
                env=wenda_env(self.root, **self.extra),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_for(lambda: self.get("/healthz").status_code == 200, 60)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kwargs)

    def wait_for(self, check: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"wenda serve exited:\n{self.log()}")
            try:
                if check():
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting; server log:\n{self.log()}")
            time.sleep(0.1)
