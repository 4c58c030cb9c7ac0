"""Liveness, readiness, and the background load: 503 while loading or failed, then ready."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from wenda.api import create_app
from wenda.index.errors import ModelLoadError
from wenda.index.settings import Settings

from tests.api.conftest import make_settings, wait_ready
from tests.api.test_bad_input import assert_error


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_the_index(client: TestClient, shared_core: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    data = response.json()
    status = shared_core.status()
    assert data == {
        "status": "ready",
        "version": status.version,
        "documents": status.documents,
        "chunks": status.chunks,
        "model": status.model,
        "dim": status.dim,
        "dense_index": status.dense_index,
        "sentence_states": True,  # the hashing embedder pools them too
        "degraded": None,
        "watch": None,
    }
    assert data["documents"] == 3 and data["chunks"] > 0 and data["model"].startswith("hashing")


def test_lifespan_builds_a_missing_index_in_the_background(own_root: Path) -> None:
    settings = make_settings(own_root)
    assert not settings.index_dir.exists()
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        ready = wait_ready(client)
        assert ready["documents"] == 2
        assert client.post("/ask", json={"question": "成渝"}).status_code == 200
    assert any(settings.index_dir.iterdir())

    app = create_app(settings)  # the same app can start again after a shutdown
    for _ in range(2):
        with TestClient(app) as client:
            assert wait_ready(client)["documents"] == 2


def test_requests_during_loading_get_503(
    own_root: Path, shared_core: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wenda.index.core

    release = threading.Event()

    def slow_open(settings: Settings, **kwargs: Any) -> Any:
        assert release.wait(30), "test never released the load"
        return shared_core

    monkeypatch.setattr(wenda.index.core.Wenda, "open", staticmethod(slow_open))
    app = create_app(make_settings(own_root))
    app.state.wenda.owns_core = False  # the shared core must survive this app's shutdown
    with TestClient(app) as client:
        try:
            assert client.get("/healthz").status_code == 200
            response = client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["status"] == "loading"
            assert response.json()["error"]["code"] == "index_loading"
            ask = client.post("/ask", json={"question": "成渝"})
            assert_error(ask, 503, "index_loading")
            assert ask.headers["retry-after"]
            assert_error(client.get("/documents"), 503, "index_loading")
            assert client.get("/").status_code == 200
        finally:
            release.set()
        wait_ready(client)
        assert client.post("/ask", json={"question": "成渝"}).status_code == 200


def test_failed_load_is_reported(own_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import wenda.index.core

    def broken_open(settings: Settings, **kwargs: Any) -> Any:
        raise ModelLoadError("模型无法加载 (model could not be loaded)")

    monkeypatch.setattr(wenda.index.core.Wenda, "open", staticmethod(broken_open))
    with TestClient(create_app(make_settings(own_root))) as client:

        def failed() -> bool:
            return client.get("/readyz").json().get("status") == "failed"

        from tests.api.conftest import wait_until

        wait_until(failed, timeout=10)
        body = client.get("/readyz").json()
        assert "模型无法加载" in body["error"]["message"]
        error = assert_error(
            client.post("/ask", json={"question": "成渝"}), 503, "index_unavailable"
        )
        assert "模型无法加载" in error["message"]
        assert client.get("/healthz").status_code == 200
