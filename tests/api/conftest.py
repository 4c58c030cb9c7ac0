"""Fixtures for the HTTP API tests: real indexes built from the seed corpus (hashing embedder).

``shared_core`` is built once per session and injected into apps for read-only tests;
tests that change the corpus or the index get their own directory and let the app's
lifespan open (and build) the index itself.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from fastapi.testclient import TestClient
from wenda.api import create_app
from wenda.api.settings import ApiSettings
from wenda.index.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SEED_CORPUS = REPO / "corpus"
ADMIN_TOKEN = "test-admin-token-0123456789"
NESTED_DOC_ID = "专题/测试 说明.txt"
NESTED_DOC_TEXT = (
    "测试说明\n"
    "这是一个放在子目录里的测试文件，用来检查文档编号里的斜杠和中文。\n"
    "云杉镇的图书馆共有藏书四万二千册，每周二闭馆。\n"
)

T = TypeVar("T")


def copy_seed_corpus(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(SEED_CORPUS.glob("*.txt")):
        shutil.copy(path, target / path.name)
        (target / path.name).chmod(0o644)
    return target


def make_settings(root: Path, **overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "corpus_dir": root / "corpus",
        "index_dir": root / "idx",
        "model": "hashing",
        "reload_check_seconds": 0.2,
        "admin_token": ADMIN_TOKEN,
    }
    values.update(overrides)
    return ApiSettings(_env_file=None, **values)


def wait_until(check: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)


def auth(token: str = ADMIN_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_ready(client: TestClient, timeout: float = 60.0) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        response = client.get("/readyz")
        return response.json() if response.status_code == 200 else None

    return wait_until(ready, timeout)


def wait_job(client: TestClient, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        job = client.get(f"/reindex/{job_id}", headers=auth()).json()
        return job if job["status"] in ("succeeded", "failed") else None

    return wait_until(finished, timeout)


@pytest.fixture(scope="session")
def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("api_shared")
    corpus = copy_seed_corpus(root / "corpus")
    nested = corpus / NESTED_DOC_ID
    nested.parent.mkdir()
    nested.write_text(NESTED_DOC_TEXT, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def shared_core(shared_root: Path) -> Iterator[Any]:
    """One real, read-only core over the seed corpus (plus a nested Chinese-named doc)."""
    from wenda.index.core import Wenda

    core = Wenda.open(make_settings(shared_root), build_if_missing=True)
    yield core
    core.close()


@pytest.fixture
def shared_settings(shared_root: Path) -> Settings:
    return make_settings(shared_root)


@pytest.fixture
def client(shared_settings: Settings, shared_core: Any) -> Iterator[TestClient]:
    with TestClient(create_app(shared_settings, core=shared_core)) as test_client:
        yield test_client


@pytest.fixture
def own_root(tmp_path: Path) -> Path:
    """A private corpus (seed docs) and index dir for tests that change them."""
    copy_seed_corpus(tmp_path / "corpus")
    return tmp_path


class LiveServer:
    """The app served by a real uvicorn on a free port, in a background thread."""

    def __init__(self, app: Any, http: Any = "auto") -> None:
        """``http``: uvicorn's protocol (``wenda serve`` passes ``api.server.protocol_class``)."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", http=http
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


class CoreProxy:
    """Delegates to a real core; tests subclass it to inject faults or pauses."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @property
    def version(self) -> str:
        return str(self._inner.version)
