"""The web page (self-contained, offline), import hygiene, and the ``wenda serve`` command."""

from __future__ import annotations

import argparse
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from wenda.api import cli as api_cli
from wenda.api.web import STATIC_DIR

from tests.api.conftest import REPO, make_settings

URL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def test_page_has_the_form_and_loads_packaged_assets(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="zh-CN">' in html
    assert '<meta name="viewport"' in html
    assert '<form id="ask-form"' in html and '<textarea id="q" name="q"' in html
    assert 'type="submit"' in html
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    styles = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', html)
    assert scripts == ["static/conversation.js", "static/app.js"]  # in this order
    assert styles == ["static/app.css"]
    assets = [*((s, "javascript") for s in scripts), (styles[0], "css")]
    for asset, kind in assets:
        served = client.get("/" + asset)
        assert served.status_code == 200 and kind in served.headers["content-type"]
        assert served.text == (STATIC_DIR / Path(asset).name).read_text(encoding="utf-8")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp


def test_static_files_live_in_the_package_and_reach_no_other_host() -> None:
    assert (REPO / "api" / "static").resolve() == STATIC_DIR
    names = {p.name for p in STATIC_DIR.iterdir()}
    assert {"index.html", "app.js", "app.css"} <= names
    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not URL.search(text), f"{path.name} references another host"
        assert "@import" not in text


def test_page_script_never_renders_text_as_html() -> None:
    js = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    assert "innerHTML" not in js and "outerHTML" not in js and "insertAdjacentHTML" not in js
    assert "document.write" not in js and "eval(" not in js
    assert "textContent" in js
    for needed in ("answer_start", "answer_end", "documents/", "资料中没有找到相关内容", "参考"):
        assert needed in js, needed


def _run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_import_api_does_not_import_the_bot_or_telegram() -> None:
    out = _run_python(
        "import sys, api\n"
        "from wenda.api.app import create_app\n"
        "from wenda.index.settings import Settings\n"
        "create_app(Settings(_env_file=None, model='hashing'))\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('telegram', 'bot'))\n"
        "print(bad, 'wenda.index.core' in sys.modules)\n"
    )
    assert out == "[] False", "importing api (or creating an app) must stay light"


# --- the serve command -------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wenda")
    api_cli.register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_serve_uses_settings_host_and_port_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    seen: dict[str, Any] = {}

    def run(server: uvicorn.Server, sockets: Any = None) -> None:
        config = server.config
        seen.update(app=config.app, host=config.host, port=config.port)
        seen["root_handlers"] = list(logging.getLogger().handlers)
        server.started = True

    monkeypatch.setattr(uvicorn.Server, "run", run)
    before = list(logging.getLogger().handlers)
    settings = make_settings(tmp_path, host="0.0.0.0", port=8123)
    args = _parser().parse_args(["serve"])
    assert args.func is api_cli.run
    assert args.func(args, settings) == 0
    assert (seen["host"], seen["port"]) == ("0.0.0.0", 8123)
    assert seen["app"].state.wenda.settings is settings

    args = _parser().parse_args(["serve", "--host", "127.0.0.2", "--port", "9001"])
    assert args.func(args, settings) == 0
    assert (seen["host"], seen["port"]) == ("127.0.0.2", 9001)
    # while serving, the root logger wrote through a queue; afterwards its handlers are back
    assert any(type(h).__name__ == "_Unformatted" for h in seen["root_handlers"])
    assert logging.getLogger().handlers == before


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_serve_rejects_bad_ports(port: str) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--port", port])


def test_core_cli_loads_serve_through_the_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lead's CLI finds adapters via entry points; emulate an installed 'serve' plugin."""
    from importlib.metadata import EntryPoint

    import wenda.index.cli

    plugin = EntryPoint(name="serve", value="wenda.api.cli:register", group="wenda.commands")
    monkeypatch.setattr(wenda.index.cli, "entry_points", lambda group: [plugin])
    args = wenda.index.cli.build_parser().parse_args(["serve", "--port", "8001"])
    assert args.func is api_cli.run and args.port == 8001 and args.host is None
