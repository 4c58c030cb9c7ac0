"""Every kind of bad input gets a 4xx with ``{"error": {"code", "message"}}``, never a 5xx."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from wenda.api import create_app
from wenda.index.errors import WendaError
from wenda.index.settings import Settings

from tests.api.conftest import CoreProxy, LiveServer

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{3,}")


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    message = error["message"]
    assert CJK.search(message) and LATIN.search(message), message
    assert CJK.search(message).start() < LATIN.search(message).start(), "Chinese first"
    return error


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"question": ""}, 422, "empty_question"),
        ({"question": "   \n\t　"}, 422, "empty_question"),
        ({"question": "问" * 501}, 422, "question_too_long"),
        ({"question": "问题", "top_k": 0}, 422, "invalid_top_k"),
        ({"question": "问题", "top_k": 21}, 422, "invalid_top_k"),
        ({"question": "问题", "top_k": -3}, 422, "invalid_top_k"),
        ({"question": "问题", "top_k": "5"}, 422, "wrong_type"),
        ({"question": "问题", "top_k": 2.5}, 422, "wrong_type"),
        ({"question": "问题", "top_k": True}, 422, "wrong_type"),
        ({"question": 123}, 422, "wrong_type"),
        ({"question": None}, 422, "wrong_type"),
        ({"question": ["问题"]}, 422, "wrong_type"),
        ({"top_k": 5}, 422, "missing_field"),
        ({}, 422, "missing_field"),
        ([], 422, "body_not_object"),
        ("问题", 422, "body_not_object"),
    ],
)
def test_post_ask_rejects_bad_json(client: TestClient, body: Any, status: int, code: str) -> None:
    error = assert_error(client.post("/ask", json=body), status, code)
    assert isinstance(error.get("details"), list) or code == "question_too_long"


def test_validation_errors_keep_the_details_list(client: TestClient) -> None:
    error = assert_error(client.post("/ask", json={"top_k": "x"}), 422, "missing_field")
    locs = {tuple(d["loc"]) for d in error["details"]}
    assert ("body", "question") in locs and ("body", "top_k") in locs
    assert all({"loc", "type", "msg"} == set(d) for d in error["details"])


def test_question_at_the_limit_is_accepted(client: TestClient) -> None:
    assert client.post("/ask", json={"question": "问" * 500}).status_code == 200


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "missing_field"),
        ({"q": ""}, "empty_question"),
        ({"q": "   "}, "empty_question"),
        ({"q": "问" * 600}, "question_too_long"),
        ({"q": "问题", "top_k": "abc"}, "wrong_type"),
        ({"q": "问题", "top_k": 0}, "invalid_top_k"),
        ({"q": "问题", "top_k": 50}, "invalid_top_k"),
    ],
)
def test_get_ask_rejects_bad_query(client: TestClient, params: dict[str, Any], code: str) -> None:
    assert_error(client.get("/ask", params=params), 422, code)


JSON = "application/json"
SAMPLE = '{"question": "成渝"}'


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"{not json", JSON, 400, "invalid_json"),
        (b'{"question": "abc",}', JSON, 400, "invalid_json"),
        (b'{"question": "\xff\xfe\xfa"}', JSON, 400, "invalid_encoding"),
        (SAMPLE.encode("gbk"), JSON, 400, "invalid_encoding"),
        (SAMPLE.encode("utf-16"), JSON, 400, "invalid_encoding"),
        (SAMPLE.encode("utf-16-le"), JSON, 400, "invalid_encoding"),
        (b"", JSON, 422, "missing_body"),
        (b"question=abc", "application/x-www-form-urlencoded", 422, "body_not_object"),
    ],
)
def test_post_ask_rejects_bad_bodies(
    client: TestClient, content: bytes, content_type: str, status: int, code: str
) -> None:
    response = client.post("/ask", content=content, headers={"Content-Type": content_type})
    assert_error(response, status, code)


def test_json_without_content_type_is_accepted(client: TestClient) -> None:
    response = client.post("/ask", content='{"question": "成渝"}'.encode())
    assert response.status_code == 200, response.text


def test_body_over_limit_by_content_length_gets_413(client: TestClient) -> None:
    body = b'{"question": "' + b"a" * (70 * 1024) + b'"}'
    response = client.post("/ask", content=body, headers={"Content-Type": "application/json"})
    assert_error(response, 413, "body_too_large")


def test_body_over_limit_without_content_length_gets_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        yield b"a" * (70 * 1024)
        yield b'"}'

    response = client.post("/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(response, 413, "body_too_large")


def test_streamed_body_over_limit_on_a_real_server(
    shared_settings: Settings, shared_core: Any
) -> None:
    """Chunked upload in many pieces, no Content-Length: the streamed byte count trips 413."""

    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(70):
            yield b"a" * 1024
        yield b'"}'

    app = create_app(shared_settings, core=shared_core)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        response = http.post("/ask", content=chunks(), headers={"Content-Type": JSON})
        assert_error(response, 413, "body_too_large")
        assert http.post("/ask", json={"question": "成渝"}).status_code == 200


def test_invalid_content_length_is_400(client: TestClient) -> None:
    # Middleware-level check; an ASGI call lets us send a header httpx would refuse to build.
    import anyio

    app = client.app
    sent: list[dict[str, Any]] = []

    async def call() -> None:
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/ask",
            "raw_path": b"/ask",
            "query_string": b"",
            "headers": [(b"content-length", b"-5"), (b"content-type", b"application/json")],
            "http_version": "1.1",
            "scheme": "http",
            "server": ("test", 80),
            "client": ("test", 1),
            "root_path": "",
            "app": app,
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)

    anyio.run(call)
    assert sent[0]["status"] == 400
    assert b"invalid_content_length" in sent[1]["body"]


def test_unknown_path_and_wrong_method_are_json(client: TestClient) -> None:
    assert_error(client.get("/nope"), 404, "not_found")
    response = client.put("/ask", json={"question": "x"})
    assert_error(response, 405, "method_not_allowed")
    # RFC 9110: a 405 lists every method of the resource (Starlette named only POST)
    assert set(response.headers["allow"].split(", ")) >= {"GET", "POST"}


class _BrokenCore(CoreProxy):
    def ask(self, question: str, top_k: int | None = None) -> Any:
        raise RuntimeError("secret internal detail /etc/wenda")


class _DomainFailCore(CoreProxy):
    def ask(self, question: str, top_k: int | None = None) -> Any:
        raise WendaError("some generic domain failure")


def test_unexpected_error_is_a_logged_generic_500(
    shared_settings: Settings, shared_core: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(shared_settings, core=_BrokenCore(shared_core))
    with caplog.at_level(logging.ERROR, logger="wenda.api"), TestClient(app) as test_client:
        response = test_client.post("/ask", json={"question": "成渝"})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error"
    assert "secret" not in response.text and "RuntimeError" not in response.text
    record = next(r for r in caplog.records if r.exc_info)
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert "secret internal detail" in caplog.text  # the log has it, the response does not


def test_generic_domain_error_does_not_leak(shared_settings: Settings, shared_core: Any) -> None:
    app = create_app(shared_settings, core=_DomainFailCore(shared_core))
    with TestClient(app) as test_client:
        response = test_client.post("/ask", json={"question": "成渝"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"


def test_core_domain_errors_are_translated(shared_root: Any, shared_core: Any) -> None:
    """The core's limit decides (the API has no length check of its own), with its data."""
    from tests.api.conftest import make_settings

    settings = make_settings(shared_root, max_question_chars=2000)
    with TestClient(create_app(settings, core=shared_core)) as test_client:
        response = test_client.post("/ask", json={"question": "问" * 900})
    error = assert_error(response, 422, "question_too_long")
    assert "900" in error["message"] and "500" in error["message"]
