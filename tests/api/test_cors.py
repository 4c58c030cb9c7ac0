"""CORS for browser clients on other origins (WENDA_CORS_ORIGINS), off by default."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from wenda.api import create_app
from wenda.api.settings import ApiSettings
from wenda.index.settings import Settings

ORIGIN = "https://chat.example.org"
KEY = "cors-key-0123456789abcdef"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}
CHAT = {"model": "wenda", "messages": [{"role": "user", "content": "川渝通办第二批有多少项？"}]}


def test_origins_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WENDA_CORS_ORIGINS", f"{ORIGIN}, http://localhost:3000")
    assert ApiSettings(_env_file=None).cors_origins == [ORIGIN, "http://localhost:3000"]


def test_allowed_origin_gets_preflight_and_headers_even_with_keys(
    shared_settings: Settings, shared_core: Any
) -> None:
    settings = shared_settings.model_copy(update={"cors_origins": [ORIGIN], "api_keys": [KEY]})
    with TestClient(create_app(settings, core=shared_core)) as client:
        pre = client.options("/v1/chat/completions", headers=PREFLIGHT)
        assert pre.status_code == 200  # answered before the key check: browsers send none
        assert pre.headers["access-control-allow-origin"] == ORIGIN
        assert "authorization" in pre.headers["access-control-allow-headers"].lower()
        auth = {"Origin": ORIGIN, "Authorization": f"Bearer {KEY}"}
        chat = client.post("/v1/chat/completions", json=CHAT, headers=auth)
        assert chat.status_code == 200 and "115" in chat.json()["choices"][0]["message"]["content"]
        assert chat.headers["access-control-allow-origin"] == ORIGIN
        denied = client.post("/ask", json={"question": "川渝"}, headers={"Origin": ORIGIN})
        assert denied.status_code == 401  # CORS does not replace the key
        assert denied.headers["access-control-allow-origin"] == ORIGIN  # the page can read why
        other = client.options("/ask", headers={**PREFLIGHT, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_no_cors_headers_by_default(client: TestClient) -> None:
    question = {"question": "川渝通办第二批有多少项？"}
    r = client.post("/ask", json=question, headers={"Origin": ORIGIN})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
