"""A real ``milvus-lite server`` subprocess for tests (the gRPC protocol a cluster speaks).

Shared by the Milvus tests and the store contract suite's ``milvus-server`` parameter.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pymilvus", reason="the milvus extra is not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command() -> list[str]:
    exe = Path(sys.executable).with_name("milvus-lite")
    found = str(exe) if exe.exists() else shutil.which("milvus-lite")
    assert found, "milvus-lite is not installed (pip install -e '.[milvus]')"
    return [found, "server"]


class MilvusServer:
    """Start, stop and restart one server on a fixed port and data directory."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> MilvusServer:
        args = ["--data-dir", str(self.data_dir), "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*server_command(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"milvus-lite server exited: {err[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("milvus-lite server did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process is not None and self.process.stderr:
            self.process.stderr.close()
        self.process = None


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory):
    """One server for the whole session (starting one takes about a second)."""
    server = MilvusServer(tmp_path_factory.mktemp("milvus-server") / "data").start()
    yield server
    server.stop()
