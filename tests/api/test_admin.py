"""/reindex: auth, background jobs, conflicts, failures, and a rebuild that adds a document."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from wenda.api import create_app
from wenda.index.errors import BuildInProgressError

from tests.api.conftest import (
    CoreProxy,
    LiveServer,
    auth,
    make_settings,
    wait_job,
    wait_ready,
    wait_until,
)
from tests.api.test_bad_input import assert_error

NEW_DOC = (
    "青柠市概况\n"
    "青柠市的市花是蓝色鸢尾，于二〇三一年由市民投票选定。\n"
    "青柠市共有十七座跨江大桥，其中最长的一座名为霁虹桥。\n"
)


# --- auth -------------------------------------------------------------------------------


def test_reindex_disabled_without_configured_token(shared_root: Path, shared_core: Any) -> None:
    settings = make_settings(shared_root, admin_token=None)
    with TestClient(create_app(settings, core=shared_core)) as client:
        error = assert_error(client.post("/reindex", headers=auth()), 403, "reindex_disabled")
        assert "WENDA_ADMIN_TOKEN" in error["message"]
        assert_error(client.post("/reindex"), 403, "reindex_disabled")
        assert_error(client.get("/reindex/abc", headers=auth()), 403, "reindex_disabled")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dGVzdDp0ZXN0"},
        {"Authorization": "test-admin-token"},
    ],
)
def test_reindex_wrong_or_missing_token_is_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post("/reindex", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert_error(client.get("/reindex/whatever", headers=headers), 401, "unauthorized")


class _NoopCore(CoreProxy):
    def reindex(self, progress: Any = None) -> Any:
        from wenda.index.models import BuildReport

        return BuildReport(version=self.version)


def test_non_ascii_token_sent_as_utf8_bytes(shared_root: Path, shared_core: Any) -> None:
    settings = make_settings(shared_root, admin_token="管理员令牌-42")
    with TestClient(create_app(settings, core=_NoopCore(shared_core))) as client:
        good = {"Authorization": "Bearer 管理员令牌-42".encode()}
        response = client.post("/reindex", headers=good)
        assert response.status_code == 202, response.text
        bad = {"Authorization": "Bearer 管理员令牌-43".encode()}
        assert_error(client.post("/reindex", headers=bad), 401, "unauthorized")


def test_unknown_job_is_404(client: TestClient) -> None:
    assert_error(client.get("/reindex/no-such-job", headers=auth()), 404, "job_not_found")


# --- a real rebuild through the app's own lifespan-loaded core ---------------------------


def test_reindex_adds_a_document_that_ask_then_finds(own_root: Path) -> None:
    settings = make_settings(own_root)
    with TestClient(create_app(settings)) as client:
        before = wait_ready(client)
        question = "青柠市的市花是什么？"
        old = client.post("/ask", json={"question": question}).json()
        assert all(p["doc_id"] != "青柠市.txt" for p in old["passages"])

        (settings.corpus_dir / "青柠市.txt").write_text(NEW_DOC, encoding="utf-8")
        response = client.post("/reindex", headers=auth())
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["status"] in ("queued", "running", "succeeded")
        assert response.headers["location"].endswith(f"/reindex/{job['job_id']}")

        done = wait_job(client, job["job_id"])
        assert done["status"] == "succeeded", done
        report = done["report"]
        assert report["added"] == ["青柠市.txt"] and report["published"] is True
        assert report["full_rebuild"] is False and len(report["unchanged"]) == 2
        assert done["stage"] == "publish" and done["finished_at"] and done["error"] is None

        after = client.get("/readyz").json()
        assert after["version"] == report["version"] != before["version"]
        assert after["documents"] == 3
        new = client.post("/ask", json={"question": question}).json()
        assert new["index_version"] == report["version"]
        top = new["passages"][0]
        assert top["doc_id"] == "青柠市.txt"
        assert new["answerable"] and "蓝色鸢尾" in new["answer"]
        ids = {d["doc_id"] for d in client.get("/documents").json()["documents"]}
        assert "青柠市.txt" in ids


# --- job mechanics, with the core's reindex paused or failing ----------------------------


class _PausedCore(CoreProxy):
    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.release = threading.Event()
        self.entered = threading.Event()

    def reindex(self, progress: Any = None) -> Any:
        self.entered.set()
        progress("scan", 0, 1)
        assert self.release.wait(30)
        return self._inner.reindex(progress=progress)


def test_second_reindex_while_running_is_409_with_job_id(own_root: Path, shared_core: Any) -> None:
    from wenda.index.core import Wenda

    settings = make_settings(own_root)
    inner = Wenda.open(settings)
    core = _PausedCore(inner)
    try:
        with TestClient(create_app(settings, core=core)) as client:
            first = client.post("/reindex", headers=auth())
            assert first.status_code == 202
            job_id = first.json()["job_id"]
            assert core.entered.wait(10)
            running = client.get(f"/reindex/{job_id}", headers=auth()).json()
            assert running["status"] == "running" and running["stage"] == "scan"
            assert running["started_at"]

            second = client.post("/reindex", headers=auth())
            error = assert_error(second, 409, "reindex_running")
            assert error["job_id"] == job_id
            # Answers keep flowing while the build waits.
            assert client.post("/ask", json={"question": "成渝"}).status_code == 200

            core.release.set()
            assert wait_job(client, job_id)["status"] == "succeeded"
            third = client.post("/reindex", headers=auth())
            assert third.status_code == 202
            assert third.json()["job_id"] != job_id
            assert wait_job(client, third.json()["job_id"])["status"] == "succeeded"
    finally:
        core.release.set()
        inner.close()


class _BusyCore(CoreProxy):
    def reindex(self, progress: Any = None) -> Any:
        raise BuildInProgressError("另一个进程正在建索引 (another build is running)")


class _CrashingCore(CoreProxy):
    def reindex(self, progress: Any = None) -> Any:
        raise OSError("disk exploded at /secret/path")


@pytest.mark.parametrize(
    ("core_class", "expected"),
    [(_BusyCore, "另一个进程正在建索引"), (_CrashingCore, "内部错误")],
)
def test_failed_job_reports_a_readable_error(
    shared_settings: Any, shared_core: Any, core_class: type, expected: str
) -> None:
    with TestClient(create_app(shared_settings, core=core_class(shared_core))) as client:
        job = client.post("/reindex", headers=auth()).json()
        done = wait_job(client, job["job_id"])
        assert done["status"] == "failed" and done["report"] is None
        assert expected in done["error"]
        assert "secret" not in done["error"]
        assert client.post("/ask", json={"question": "成渝"}).status_code == 200


# --- no request fails while a rebuild runs under concurrent load --------------------------


def test_no_request_fails_during_reindex_under_load(own_root: Path) -> None:
    settings = make_settings(own_root)
    for i in range(6):  # enough new text that the rebuild does real work
        text = NEW_DOC.replace("青柠市", f"第{i}号新城") * 20
        (settings.corpus_dir / f"新城{i}.txt").write_text(text, encoding="utf-8")
    questions = ["青柠市的市花是什么？", "成渝地区双城经济圈", "川渝两地住院费用直接结算"]
    app = create_app(settings)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        wait_until(lambda: http.get("/readyz").status_code == 200, timeout=60)
        stop = threading.Event()
        results: list[tuple[int, str]] = []
        lock = threading.Lock()

        def fire(worker: int) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as own:
                i = 0
                while not stop.is_set():
                    q = questions[(worker + i) % len(questions)]
                    i += 1
                    try:
                        r = own.post("/ask", json={"question": q, "top_k": 5})
                        outcome = (r.status_code, r.json().get("index_version", r.text))
                    except Exception as exc:  # a dropped connection is a failure too
                        outcome = (0, repr(exc))
                    with lock:
                        results.append(outcome)

        workers = [threading.Thread(target=fire, args=(w,)) for w in range(6)]
        for w in workers:
            w.start()
        try:
            time.sleep(0.3)
            started = http.post("/reindex", headers=auth())
            assert started.status_code == 202
            job_id = started.json()["job_id"]

            def finished() -> dict[str, Any] | None:
                job = http.get(f"/reindex/{job_id}", headers=auth()).json()
                return job if job["status"] in ("succeeded", "failed") else None

            job = wait_until(finished, timeout=120, interval=0.1)
            time.sleep(0.3)
        finally:
            stop.set()
            for w in workers:
                w.join(60)

    assert job["status"] == "succeeded", job
    failures = [r for r in results if r[0] != 200]
    assert not failures, failures[:5]
    assert len(results) > 0
    assert results[-1][1] == job["report"]["version"]
