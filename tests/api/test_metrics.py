"""``GET /metrics``: parsed with prometheus-client's own text parser, never by string matching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from wenda.api import create_app

from tests.api.conftest import auth, make_settings, wait_job, wait_ready, wait_until

QUESTION = "川渝两地住院费用直接结算的定点医疗机构有多少家？"
NOT_IN_DOCS = "2023年四川省的GDP总量是多少？"


def scrape(client: TestClient) -> dict[str, list[Any]]:
    """Samples by sample name (``wenda_http_requests_total``, ``..._bucket``, ...)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    matching = [
        s for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())
    ]
    return sum(s.value for s in matching)


def test_all_metric_names_start_with_wenda(client: TestClient) -> None:
    client.get("/healthz")
    names = {name for name in scrape(client) if not name.startswith("python_")}
    assert names and all(name.startswith("wenda_") for name in names), names


def test_requests_are_counted_per_route_template_and_status(client: TestClient) -> None:
    client.get("/documents/专题/测试 说明.txt", params={"start": 0, "end": 4})
    client.get("/documents/no-such-doc.txt")
    client.post("/ask", json={"question": ""})
    client.get("/definitely/not/here")
    client.get("/static/app.css")
    samples = scrape(client)
    total = "wenda_http_requests_total"
    doc_route = "/documents/{doc_id:path}"
    assert value(samples, total, route=doc_route, status="200", method="GET") == 1
    assert value(samples, total, route=doc_route, status="404") == 1
    assert value(samples, total, route="/ask", status="422", method="POST") == 1
    assert value(samples, total, route="<unmatched>", status="404") == 1
    assert value(samples, total, route="/static", status="200") == 1
    # Raw paths never become labels (bounded cardinality).
    routes = {s.labels["route"] for s in samples[total]}
    assert not any("测试" in r or "not/here" in r for r in routes)
    count = "wenda_http_request_duration_seconds_count"
    assert value(samples, count, route=doc_route, status="200") == 1
    inf_bucket = value(
        samples,
        "wenda_http_request_duration_seconds_bucket",
        route=doc_route,
        status="200",
        le="+Inf",
    )
    assert inf_bucket == 1


def test_questions_answered_and_refused(client: TestClient) -> None:
    client.post("/ask", json={"question": QUESTION})
    client.get("/ask", params={"q": NOT_IN_DOCS})
    chat = {"messages": [{"role": "user", "content": QUESTION}]}
    client.post("/v1/chat/completions", json=chat)
    samples = scrape(client)
    questions = "wenda_questions_total"
    assert value(samples, questions, endpoint="ask", outcome="answered") == 1
    assert value(samples, questions, endpoint="ask", outcome="refused") == 1
    assert value(samples, questions, endpoint="chat_completions", outcome="answered") == 1


def test_index_version_and_chunk_count(client: TestClient, shared_core: Any) -> None:
    samples = scrape(client)
    status = shared_core.status()
    assert value(samples, "wenda_index_loaded") == 1
    (info,) = samples["wenda_index_info"]
    assert info.labels["version"] == status.version
    assert info.labels["model"] == status.model
    assert value(samples, "wenda_index_chunks") == status.chunks > 0
    assert value(samples, "wenda_index_documents") == status.documents == 3


def test_apps_do_not_share_counters(shared_settings: Any, shared_core: Any) -> None:
    with TestClient(create_app(shared_settings, core=shared_core)) as first:
        first.get("/healthz")
        first.get("/healthz")
        with TestClient(create_app(shared_settings, core=shared_core)) as second:
            second.get("/healthz")
            assert value(scrape(first), "wenda_http_requests_total", route="/healthz") == 2
            assert value(scrape(second), "wenda_http_requests_total", route="/healthz") == 1


def test_builds_record_duration_and_skipped_documents(own_root: Path) -> None:
    (own_root / "corpus" / "坏文件.txt").write_bytes(b"\x00\x01\x02binary\xff\xfe" * 50)
    with TestClient(create_app(make_settings(own_root))) as client:
        wait_ready(client)
        samples = scrape(client)
        assert value(samples, "wenda_index_loaded") == 1
        assert value(samples, "wenda_builds_total") == 0
        (own_root / "corpus" / "新文件.txt").write_text(
            "新文件\n云杉镇的图书馆共有藏书四万二千册。\n", encoding="utf-8"
        )
        job = client.post("/reindex", headers=auth()).json()
        assert wait_job(client, job["job_id"])["status"] == "succeeded"
        samples = scrape(client)
        assert value(samples, "wenda_builds_total", trigger="reindex", outcome="succeeded") == 1
        assert value(samples, "wenda_build_duration_seconds_count", trigger="reindex") == 1
        assert value(samples, "wenda_build_duration_seconds_sum", trigger="reindex") > 0
        assert value(samples, "wenda_build_documents_skipped_total", trigger="reindex") == 1
        assert value(samples, "wenda_index_documents") == 3


def test_metrics_before_the_index_is_loaded(tmp_path: Path) -> None:
    client = TestClient(create_app(make_settings(tmp_path)))  # lifespan not run: never loads
    samples = scrape(client)
    assert value(samples, "wenda_index_loaded") == 0
    assert "wenda_index_info" not in samples


def test_automatic_builds_are_recorded(own_root: Path) -> None:
    """WENDA_WATCH=1: the corpus watcher's builds show up with trigger="watch"."""
    settings = make_settings(own_root, watch=True, watch_debounce_seconds=0.3)
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        watcher = client.app.state.watcher  # type: ignore[attr-defined]
        assert watcher is not None and watcher.ready.wait(10)
        (own_root / "corpus" / "坏文件.txt").write_bytes(b"\x00\x01binary\xff" * 50)
        (own_root / "corpus" / "新文件.txt").write_text(
            "新文件\n云杉镇的图书馆共有藏书四万二千册。\n", encoding="utf-8"
        )

        def recorded() -> dict[str, list[Any]] | None:
            samples = scrape(client)
            done = value(samples, "wenda_builds_total", trigger="watch", outcome="succeeded")
            return samples if done >= 1 else None

        samples = wait_until(recorded, timeout=60, interval=0.2)
        assert value(samples, "wenda_build_duration_seconds_count", trigger="watch") >= 1
        assert value(samples, "wenda_build_documents_skipped_total", trigger="watch") >= 1
        wait_until(lambda: value(scrape(client), "wenda_index_documents") == 3, timeout=30)
