"""API keys (WENDA_API_KEYS) and the per-client rate limit (WENDA_RATE_LIMIT_PER_MINUTE)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient
from wenda.api import create_app
from wenda.api.auth import RateLimiter, bearer_token, key_matches
from wenda.api.settings import ApiSettings
from wenda.index.settings import Settings

from tests.api.conftest import LiveServer, make_settings

KEYS = ["key-alpha-0123456789", "key-beta-9876543210"]
QUESTION = "川渝两地住院费用直接结算的定点医疗机构有多少家？"
CHAT = {"model": "wenda", "messages": [{"role": "user", "content": QUESTION}]}


def _app_client(root: Path, core: Any, **overrides: Any) -> TestClient:
    return TestClient(create_app(make_settings(root, **overrides), core=core))


@pytest.fixture
def keyed(shared_root: Path, shared_core: Any) -> Iterator[TestClient]:
    with _app_client(shared_root, shared_core, api_keys=KEYS) as client:
        yield client


def test_settings_read_comma_separated_keys_and_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WENDA_API_KEYS", " k1, k2 ,,")
    monkeypatch.setenv("WENDA_RATE_LIMIT_PER_MINUTE", "7")
    settings = ApiSettings(_env_file=None)
    assert settings.api_keys == ["k1", "k2"]
    assert settings.rate_limit_per_minute == 7
    monkeypatch.delenv("WENDA_API_KEYS")
    monkeypatch.delenv("WENDA_RATE_LIMIT_PER_MINUTE")
    defaults = ApiSettings(_env_file=None)
    assert defaults.api_keys == [] and defaults.rate_limit_per_minute is None  # off by default


def test_without_keys_everything_is_open(client: TestClient) -> None:
    assert client.get("/ask", params={"q": QUESTION}).status_code == 200
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200


def test_keys_are_required_on_ask_and_v1(keyed: TestClient) -> None:
    for method, path, body in [
        ("POST", "/ask", {"question": QUESTION}),
        ("GET", "/ask?q=x", None),
        ("POST", "/v1/chat/completions", CHAT),
        ("GET", "/v1/models", None),
    ]:
        missing = keyed.request(method, path, json=body)
        assert missing.status_code == 401, path
        assert missing.headers["www-authenticate"] == "Bearer"
        assert missing.json()["error"] == {
            "code": "missing_api_key",
            "message": missing.json()["error"]["message"],
            "type": "authentication_error",
            "param": None,
        }
        wrong = keyed.request(method, path, json=body, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        for key in KEYS:
            ok = keyed.request(method, path, json=body, headers={"Authorization": f"Bearer {key}"})
            assert ok.status_code == 200, (path, ok.text)


def test_keys_do_not_guard_health_page_docs_or_metrics(keyed: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/", "/docs", "/openapi.json", "/metrics", "/documents"):
        assert keyed.get(path).status_code == 200, path


def test_openai_sdk_sends_its_api_key_as_bearer(shared_root: Path, shared_core: Any) -> None:
    app = create_app(make_settings(shared_root, api_keys=KEYS), core=shared_core)
    with LiveServer(app) as server:
        url = f"{server.url}/v1"
        with openai.OpenAI(base_url=url, api_key=KEYS[1], max_retries=0) as sdk:
            completion = sdk.chat.completions.create(**CHAT)
            assert "5182家" in (completion.choices[0].message.content or "")
        with (
            openai.OpenAI(base_url=url, api_key="wrong", max_retries=0) as sdk,
            pytest.raises(openai.AuthenticationError),
        ):
            sdk.models.list()


def test_rate_limit_answers_429_with_retry_after(shared_root: Path, shared_core: Any) -> None:
    with _app_client(shared_root, shared_core, rate_limit_per_minute=3) as client:
        statuses = [client.get("/ask", params={"q": QUESTION}).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = client.post("/v1/chat/completions", json=CHAT)  # the same client, shared budget
        assert limited.status_code == 429
        retry_after = int(limited.headers["retry-after"])
        assert 1 <= retry_after <= 60
        error = limited.json()["error"]
        assert error["code"] == "rate_limited" and error["type"] == "rate_limit_error"
        assert "每分钟最多 3 次" in error["message"]
        for _ in range(10):  # health probes and the page are never limited
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 200
        assert client.get("/").status_code == 200


def test_rate_limit_is_per_api_key(shared_root: Path, shared_core: Any) -> None:
    with _app_client(shared_root, shared_core, rate_limit_per_minute=2, api_keys=KEYS) as client:
        alpha, beta = ({"Authorization": f"Bearer {k}"} for k in KEYS)
        assert [client.get("/v1/models", headers=alpha).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]
        assert client.get("/v1/models", headers=beta).status_code == 200


def test_rate_limiter_window_and_retry_after() -> None:
    limiter = RateLimiter(2)
    assert limiter.hit("a") is None and limiter.hit("a") is None
    wait = limiter.hit("a")
    assert wait is not None and 1 <= wait <= 60
    assert limiter.hit("b") is None  # other clients have their own window


def test_bearer_parsing_and_key_matching() -> None:
    from starlette.datastructures import Headers

    assert bearer_token(Headers({"authorization": "Bearer  abc "})) == "abc"
    assert bearer_token(Headers({"authorization": "bearer abc"})) == "abc"
    assert bearer_token(Headers({"authorization": "Basic abc"})) is None
    assert bearer_token(Headers({"authorization": "Bearer "})) is None
    assert bearer_token(Headers({})) is None
    assert key_matches("k2", ["k1", "k2"]) and not key_matches("k", ["k1", "k2"])
    assert not key_matches("k1", [])
    assert key_matches("密钥", ["密钥"])  # non-ASCII keys compare as UTF-8 bytes


def test_core_settings_are_accepted_by_create_app(tmp_path: Path) -> None:
    app = create_app(Settings(_env_file=None, model="hashing", index_dir=tmp_path))
    assert app.state.wenda.settings.api_keys == []
