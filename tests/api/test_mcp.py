"""``wenda mcp`` spawned as a real subprocess and driven by the MCP SDK's own stdio client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.api.conftest import copy_seed_corpus, wait_until
from tests.conftest import PASSAGE_KEYS

WENDA = str(Path(sys.executable).with_name("wenda"))
MEDICAL = "川渝两地住院费用直接结算的定点医疗机构有多少家？"
NOT_IN_DOCS = "2023年四川省的GDP总量是多少？"
DOC = "川渝合作成效盘点.txt"

Scenario = Callable[[ClientSession], Awaitable[None]]


def server_env(root: Path, **env: str) -> dict[str, str]:
    return {
        "WENDA_CORPUS_DIR": str(root / "corpus"),
        "WENDA_INDEX_DIR": str(root / "idx"),
        # The SDK passes only a safe base environment; keep an import path if one is set.
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
        **env,
    }


def run_mcp(root: Path, scenario: Scenario, **env: str) -> None:
    """Spawn ``wenda mcp`` over the corpus in ``root`` and run ``scenario`` in a session."""
    params = StdioServerParameters(
        command=WENDA,
        args=["mcp"],
        cwd=str(root),  # no stray .env from the repository
        env=server_env(root, **env),
    )

    async def main() -> None:
        with (root / "stderr.log").open("w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write, read_timeout_seconds=300) as session,
            ):
                await session.initialize()
                await scenario(session)

    anyio.run(main)


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    data: dict[str, Any] = result.structured_content
    # The same object is also sent as text for clients without structured output.
    assert json.loads(result.content[0].text) == data
    return data


@pytest.fixture
def root(tmp_path: Path) -> Path:
    copy_seed_corpus(tmp_path / "corpus")
    return tmp_path


def test_tools_over_stdio_with_the_hashing_model(root: Path) -> None:
    async def scenario(session: ClientSession) -> None:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == {"ask", "search", "get_document"}
        assert tools["ask"].input_schema["required"] == ["question"]
        assert tools["ask"].output_schema is not None

        ask = structured(await session.call_tool("ask", {"question": MEDICAL, "top_k": 3}))
        assert ask["answerable"] is True and "5182家" in ask["answer"]
        assert len(ask["passages"]) == 3 and set(ask["passages"][0]) == PASSAGE_KEYS
        assert ask["index_version"].startswith("v")

        refused = structured(await session.call_tool("ask", {"question": NOT_IN_DOCS}))
        assert refused["answerable"] is False
        assert refused["answer"].startswith("资料中没有找到")

        found = structured(await session.call_tool("search", {"question": MEDICAL, "top_k": 2}))
        assert set(found) == {"passages", "index_version"} and len(found["passages"]) == 2
        first = found["passages"][0]

        span = structured(
            await session.call_tool(
                "get_document",
                {"doc_id": first["doc_id"], "start": first["start"], "end": first["end"]},
            )
        )
        assert span["text"] == first["text"]
        whole = structured(await session.call_tool("get_document", {"doc_id": DOC}))
        assert whole["start"] == 0 and whole["end"] == whole["chars"] == len(whole["text"])

        # Bad input is a tool error the agent can read, never a dead server.
        for name, args in [
            ("get_document", {"doc_id": "不存在.txt"}),
            ("get_document", {"doc_id": DOC, "start": 10, "end": 5}),
            ("get_document", {"doc_id": DOC, "start": 0, "end": 10**9}),
            ("ask", {"question": ""}),
            ("ask", {"question": "问" * 600}),
            ("ask", {"question": MEDICAL, "top_k": 0}),
            ("search", {}),
        ]:
            result = await session.call_tool(name, args)
            assert result.is_error, (name, args)
            assert result.content[0].text
        missing = await session.call_tool("get_document", {"doc_id": "不存在.txt"})
        assert "不存在.txt" in missing.content[0].text
        # ... and the server still answers afterwards.
        again = structured(await session.call_tool("ask", {"question": MEDICAL}))
        assert again["answerable"] is True

    run_mcp(root, scenario, WENDA_MODEL="hashing")


def test_a_missing_corpus_is_a_readable_tool_error(tmp_path: Path) -> None:
    async def scenario(session: ClientSession) -> None:
        for _ in range(2):  # and the server stays up to say so again
            result = await session.call_tool("ask", {"question": MEDICAL})
            assert result.is_error
            assert str(tmp_path / "corpus") in result.content[0].text

    run_mcp(tmp_path, scenario, WENDA_MODEL="hashing")


@contextmanager
def http_server(root: Path, **env: str) -> Iterator[int]:
    """``wenda mcp --transport streamable-http`` on a free port; yields the port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environ = {**os.environ, **server_env(root, WENDA_MODEL="hashing", **env)}
    args = [WENDA, "mcp", "--transport", "streamable-http", "--port", str(port)]
    with (root / "http.log").open("w") as log:
        server = subprocess.Popen(args, cwd=root, env=environ, stdout=log, stderr=log)
    try:

        def listening() -> bool:
            assert server.poll() is None, (root / "http.log").read_text()
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_until(listening, timeout=60)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


async def ask_over_http(port: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
    from mcp.shared._httpx_utils import create_mcp_http_client

    async with (
        create_mcp_http_client(headers=headers) as http,
        streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http) as (read, write),
        ClientSession(read, write, read_timeout_seconds=120) as session,
    ):
        await session.initialize()
        names = {t.name for t in (await session.list_tools()).tools}
        assert names == {"ask", "search", "get_document"}
        return structured(await session.call_tool("ask", {"question": MEDICAL}))


def test_streamable_http_transport(root: Path) -> None:
    with http_server(root) as port:
        ask = anyio.run(ask_over_http, port)
    assert ask["answerable"] is True and "5182家" in ask["answer"]


def test_streamable_http_needs_one_of_the_api_keys_when_they_are_set(root: Path) -> None:
    key = "mcp-key-0123456789abcdef"
    with http_server(root, WENDA_API_KEYS=key) as port:
        url = f"http://127.0.0.1:{port}/mcp"
        refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "missing_api_key"
        wrong = httpx.post(url, json={}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        ask = anyio.run(ask_over_http, port, {"Authorization": f"Bearer {key}"})
    assert ask["answerable"] is True and "5182家" in ask["answer"]


@pytest.mark.model
def test_ask_over_stdio_with_the_default_model(root: Path) -> None:
    async def scenario(session: ClientSession) -> None:
        ask = structured(await session.call_tool("ask", {"question": MEDICAL}))
        assert ask["answerable"] is True and "5182家" in ask["answer"]
        cited = next(p for p in ask["passages"] if p["answer_start"] is not None)
        assert "5182家" in cited["text"][cited["answer_start"] : cited["answer_end"]]
        refused = structured(await session.call_tool("ask", {"question": NOT_IN_DOCS}))
        assert refused["answerable"] is False

    run_mcp(root, scenario)
