"""``/docs`` and ``/redoc`` work without network: every asset they load is served by Wenda."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "cdn." not in html and "fonts.googleapis" not in html
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assets += re.findall(r"""url: ?["']([^"']+)["']""", html)
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts, html
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads a non-local asset: {asset}"
        loaded = client.get(asset)
        assert loaded.status_code == 200, asset
        if asset.endswith(".js"):
            assert len(loaded.content) > 100_000  # the real bundle, not a placeholder


def test_docs_describe_the_openai_and_metrics_endpoints(client: TestClient) -> None:
    document = client.get("/openapi.json")
    assert "#/$defs/" not in document.text  # every reference resolves inside components
    paths = document.json()["paths"]
    for path in ("/v1/models", "/v1/chat/completions", "/metrics", "/ask"):
        assert path in paths, path
