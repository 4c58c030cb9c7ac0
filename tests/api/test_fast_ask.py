"""``POST /ask``'s fast lane answers exactly as the FastAPI route, and hands it the rest."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from wenda.api import create_app, routes_ask
from wenda.api.fast_ask import FastAskMiddleware
from wenda.api.schemas import AskResponse
from wenda.index.settings import Settings

from tests.api.conftest import auth

QUESTION = "川渝两地住院费用直接结算的定点医疗机构有多少家？"


@pytest.fixture
def route_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Questions that reached the FastAPI route (the lane answers without it)."""
    calls: list[str] = []
    real = routes_ask.answer

    async def spy(request: Any, question: str, top_k: int) -> Any:
        calls.append(question)
        return await real(request, question, top_k)

    monkeypatch.setattr(routes_ask, "answer", spy)
    return calls


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return {**a, "took_ms": 0} == {**b, "took_ms": 0}


def test_valid_request_is_answered_by_the_lane_like_the_route(
    client: TestClient, route_calls: list[str]
) -> None:
    fast = client.post("/ask", json={"question": QUESTION, "top_k": 3})
    assert fast.status_code == 200 and route_calls == []
    AskResponse.model_validate(fast.json())
    assert fast.headers["content-type"] == "application/json"
    routed = client.get("/ask", params={"q": QUESTION, "top_k": 3})
    assert route_calls == [QUESTION]
    assert _same(fast.json(), routed.json())
    assert len(fast.json()["passages"]) == 3
    metrics = client.get("/metrics").text
    assert 'wenda_http_requests_total{method="POST",route="/ask",status="200"} 1.0' in metrics
    assert 'wenda_questions_total{endpoint="ask",outcome="answered"} 2.0' in metrics


def _without_lane(app: Any) -> Any:
    """The same app with the lane taken out (before its middleware stack is first built)."""
    app.user_middleware = [m for m in app.user_middleware if m.cls is not FastAskMiddleware]
    return app


@pytest.mark.parametrize(
    "body",
    [
        b'{"question": ',  # not JSON
        '{"question": "川渝"}'.encode("utf-16"),
        b'{"question": "\xef\xbb\xbf"}',  # a BOM as the question: answered, as before
        b'\xef\xbb\xbf{"question": "x"}',  # a BOM before the JSON: the route strips it
        b'{"question": "   "}',
        b'{"question": 5}',
        b'{"question": "x", "top_k": "5"}',  # strict types
        b'{"question": "x", "top_k": 5.0}',
        b'{"question": "x", "top_k": 0}',
        b'{"question": "x", "top_k": true}',
        b'{"question": null}',
        b'["question"]',
        b"",
        ('{"question": "' + "问" * 600 + '"}').encode(),  # over the core's limit
    ],
)
def test_other_bodies_get_exactly_what_the_route_answers(
    shared_settings: Settings, shared_core: Any, route_calls: list[str], body: bytes
) -> None:
    headers = {"Content-Type": "application/json"}
    with TestClient(create_app(shared_settings, core=shared_core)) as lane:
        got = lane.post("/ask", content=body, headers=headers)
    calls = list(route_calls)
    app = _without_lane(create_app(shared_settings, core=shared_core))
    with TestClient(app) as plain:
        want = plain.post("/ask", content=body, headers=headers)
    assert got.status_code == want.status_code
    assert _same(got.json(), want.json())
    if got.status_code >= 400:  # the lane passed the same requests on to the route
        assert calls == route_calls[len(calls) :]


def test_domain_errors_fall_through_to_the_route(
    shared_settings: Settings, shared_core: Any, route_calls: list[str]
) -> None:
    settings = shared_settings.model_copy(update={"max_question_chars": 10})
    with TestClient(create_app(settings, core=shared_core)) as client:
        # the shared core's own limit is the default; a proxy core applies this one
        class Short:
            def __getattr__(self, name: str) -> Any:
                return getattr(shared_core, name)

            def ask(self, question: str, top_k: int | None = None, mode: Any = None) -> Any:
                from wenda.index.errors import QuestionTooLongError

                if len(question) > 10:
                    raise QuestionTooLongError(len(question), 10)
                return shared_core.ask(question, top_k, mode)

        client.app.state.wenda.core = Short()  # type: ignore[attr-defined]
        r = client.post("/ask", json={"question": QUESTION})
    assert r.status_code == 422 and r.json()["error"]["code"] == "question_too_long"
    assert route_calls == [QUESTION]  # the lane stepped aside and the route answered


def test_index_not_loaded_gets_the_routes_503(
    shared_settings: Settings, route_calls: list[str]
) -> None:
    app = create_app(shared_settings)
    client = TestClient(app)  # no lifespan: the index is never opened
    r = client.post("/ask", json={"question": QUESTION})
    assert r.status_code == 503 and r.json()["error"]["code"] == "index_loading"
    assert route_calls == [QUESTION]  # the lane stepped aside and the route said why


def test_api_keys_still_guard_the_lane(shared_settings: Settings, shared_core: Any) -> None:
    settings = shared_settings.model_copy(update={"api_keys": ["k-0123456789abcdef"]})
    with TestClient(create_app(settings, core=shared_core)) as client:
        assert client.post("/ask", json={"question": QUESTION}).status_code == 401
        ok = client.post("/ask", json={"question": QUESTION}, headers=auth("k-0123456789abcdef"))
        assert ok.status_code == 200
