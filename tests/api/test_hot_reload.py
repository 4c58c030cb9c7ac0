"""A version published by ``wenda index`` in another process is served without a restart."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from wenda.api import create_app

from tests.api.conftest import REPO, make_settings, wait_ready, wait_until
from tests.api.test_admin import NEW_DOC


def run_wenda_index(settings: Any, cwd: Path) -> None:
    env = {
        **os.environ,
        "WENDA_CORPUS_DIR": str(settings.corpus_dir),
        "WENDA_INDEX_DIR": str(settings.index_dir),
        "WENDA_MODEL": "hashing",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-m", "wenda.index.cli", "index"],
        cwd=cwd,  # not the repo: no stray .env is picked up
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def test_idle_server_picks_up_an_out_of_process_build(own_root: Path) -> None:
    settings = make_settings(own_root, reload_check_seconds=0.2)
    with TestClient(create_app(settings)) as client:
        before = wait_ready(client)["version"]
        (settings.corpus_dir / "青柠市.txt").write_text(NEW_DOC, encoding="utf-8")
        run_wenda_index(settings, cwd=own_root)

        # /documents never refreshes by itself: only the background task can move it.
        def switched() -> str | None:
            version = client.get("/documents").json()["index_version"]
            return version if version != before else None

        after = wait_until(switched, timeout=30, interval=0.1)
        assert client.get("/readyz").json()["version"] == after
        answer = client.get("/ask", params={"q": "青柠市的市花是什么？"}).json()
        assert answer["index_version"] == after
        assert answer["passages"][0]["doc_id"] == "青柠市.txt"
