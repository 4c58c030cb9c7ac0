"""``wenda serve`` under an unlucky operator and hostile clients (issue 10 items 7, 9, 10, 12).

Everything is real: ``wenda serve`` and ``wenda index`` subprocesses, uvicorn, raw sockets.
"""

from __future__ import annotations

import resource
import socket
import time
from pathlib import Path

from tests.api.conftest import copy_seed_corpus
from tests.api.serve_process import ServeProcess, run_wenda


def test_server_without_an_index_comes_up_when_one_is_published(tmp_path: Path) -> None:
    """The first load fails (no corpus, so no build); ``wenda index`` later fixes it."""
    with ServeProcess(tmp_path) as server:
        server.wait_for(lambda: server.get("/readyz").json().get("status") == "failed", 60)
        assert server.get("/ask", params={"q": "成渝"}).status_code == 503

        copy_seed_corpus(tmp_path / "corpus")
        built = run_wenda(tmp_path, "index")
        assert built.returncode == 0, built.stderr

        server.wait_for(lambda: server.get("/readyz").status_code == 200, 60)
        documents = server.get("/documents")
        assert documents.status_code == 200 and documents.json()["documents"]
        # its own INFO lines are visible (the CLI's WARNING set-up used to hide them);
        # log lines are written in batches up to 0.1 s later (api/logs.py), so wait for them
        server.wait_for(lambda: "INFO wenda.api: index loaded: version v" in server.log(), 10)
        assert "loading again" in server.log()


def _build(root: Path) -> None:
    copy_seed_corpus(root / "corpus")
    built = run_wenda(root, "index")
    assert built.returncode == 0, built.stderr


def _closed(sock: socket.socket) -> bool:
    """True once the server closed the connection (EOF or reset), without blocking."""
    try:
        return sock.recv(1024) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _raise_fd_limit(wanted: int) -> int:
    """Lift the soft open-files limit (the server subprocess inherits it); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return max(soft, target)


def test_idle_and_slow_connections_are_closed(tmp_path: Path) -> None:
    _build(tmp_path)
    timeout = 1.0
    count = min(1000, (_raise_fd_limit(4096) - 200) // 2)  # 1,000 where the limits allow
    limits = {"WENDA_REQUEST_TIMEOUT_SECONDS": str(timeout), "WENDA_MAX_CONNECTIONS": "2000"}
    with ServeProcess(tmp_path, **limits) as server:
        sockets = []
        for i in range(count):
            sock = socket.create_connection(("127.0.0.1", server.port))
            if i % 2:  # half never send a byte, half stall in the middle of their headers
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            sock.setblocking(False)
            sockets.append(sock)
        opened = time.monotonic()
        # the server still answers real clients meanwhile
        assert server.get("/healthz").status_code == 200
        open_ones = sockets
        while open_ones and time.monotonic() - opened < timeout + 30:
            time.sleep(0.2)
            open_ones = [s for s in open_ones if not _closed(s)]
        for sock in sockets:
            sock.close()
        assert not open_ones, f"{len(open_ones)} of {count} idle connections still open"
        assert server.get("/healthz").status_code == 200


def test_connections_beyond_the_cap_are_refused(tmp_path: Path) -> None:
    _build(tmp_path)
    with ServeProcess(tmp_path, WENDA_MAX_CONNECTIONS="20") as server:
        sockets = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(60)]
        time.sleep(1.0)
        for sock in sockets:
            sock.setblocking(False)
        refused = sum(_closed(s) for s in sockets)
        for sock in sockets:
            sock.close()
        assert refused >= 40  # all but the 20 allowed
        assert server.get("/healthz").status_code == 200


def test_client_disconnect_mid_body_logs_no_traceback(tmp_path: Path) -> None:
    _build(tmp_path)
    with ServeProcess(tmp_path) as server:
        server.wait_for(lambda: server.get("/readyz").status_code == 200, 60)
        for _ in range(5):
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.sendall(
                b"POST /ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 4000\r\n\r\n" + b'{"question": "' + "成".encode() * 100
            )
            time.sleep(0.2)
            sock.close()
        time.sleep(1.0)
        assert server.get("/documents").status_code == 200
        log = server.log()
        assert "Traceback" not in log and " ERROR " not in log, log
