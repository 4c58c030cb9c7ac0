"""Serving on Milvus: real uvicorn + a real ``milvus-lite server`` + ``wenda`` subprocesses.

A build published by another process is picked up; losing Milvus gives 503 from /readyz and
/ask; serving recovers when it returns; an unreachable URI at start-up is exit code 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from wenda.api.app import create_app

from tests.api.conftest import LiveServer, make_settings, wait_until
from tests.conftest import SEED_CORPUS
from tests.index.store.milvus_server import MilvusServer, free_port

REPO = Path(__file__).resolve().parents[3]
NEW_DOC = "新文档.txt"
NEW_TEXT = "测试专用的独特内容：熊猫邮局在二〇二六年开设了第九百九十九个网点。\n"


def wenda(
    args: list[str], env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("wenda")
    return subprocess.run(
        [str(exe), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def status_of(client: httpx.Client, path: str, **params: str) -> tuple[int, dict]:
    response = client.get(path, params=params)
    return response.status_code, response.json()


def test_serving_follows_other_processes_and_survives_an_outage(tmp_path: Path) -> None:
    server = MilvusServer(tmp_path / "milvus").start()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in SEED_CORPUS.glob("*.txt"):
        (corpus / path.name).write_bytes(path.read_bytes())
    prefix = f"s{uuid.uuid4().hex[:8]}"
    store = {"store": "milvus", "milvus_uri": server.uri, "milvus_collection_prefix": prefix}
    env = {
        "WENDA_STORE": "milvus",
        "WENDA_MILVUS_URI": server.uri,
        "WENDA_MILVUS_COLLECTION_PREFIX": prefix,
        "WENDA_MODEL": "hashing",
        "WENDA_CORPUS_DIR": str(corpus),
        "WENDA_INDEX_DIR": str(tmp_path / "cli_idx"),
    }
    try:
        settings = make_settings(tmp_path, **store)
        with LiveServer(create_app(settings)) as live, httpx.Client(base_url=live.url) as client:
            first = wait_until(lambda: client.get("/readyz").json().get("version"), timeout=120)

            (corpus / NEW_DOC).write_text(NEW_TEXT, "utf-8")
            built = wenda(["index"], env)  # another process publishes a new version
            assert built.returncode == 0, built.stderr

            def switched() -> str | None:
                version = client.get("/readyz").json().get("version")
                return version if version not in (None, first) else None

            wait_until(switched, timeout=60)
            code, body = status_of(client, "/ask", q="熊猫邮局开设了第几个网点？")
            assert code == 200 and body["passages"][0]["doc_id"] == NEW_DOC

            server.stop()
            code, body = status_of(client, "/readyz")
            assert code == 503 and body["error"]["code"] == "store_unavailable"
            assert server.uri in body["error"]["message"]
            code, body = status_of(client, "/ask", q="熊猫邮局开设了第几个网点？")
            assert code == 503 and body["error"]["code"] == "store_unavailable"

            server.start()  # same port, same data
            wait_until(lambda: client.get("/readyz").status_code == 200, timeout=60)
            code, body = status_of(client, "/ask", q="熊猫邮局开设了第几个网点？")
            assert code == 200 and body["passages"][0]["doc_id"] == NEW_DOC
    finally:
        server.stop()


@pytest.mark.parametrize("command", [["status"], ["index"], ["serve", "--port", "1"], ["bot"]])
def test_an_unreachable_milvus_is_one_line_and_exit_code_2(
    command: list[str], tmp_path: Path
) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    env = {
        "WENDA_STORE": "milvus",
        "WENDA_MILVUS_URI": uri,
        "WENDA_MODEL": "hashing",
        "WENDA_CORPUS_DIR": str(SEED_CORPUS),
        "WENDA_INDEX_DIR": str(tmp_path / "idx"),
        "TELEGRAM_BOT_TOKEN": "123456:not-a-real-token",  # bot: gets as far as the index
    }
    result = wenda(command, env, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and uri in lines[0], result.stderr
