"""``wenda mcp``: the documents as an MCP server (official ``mcp`` SDK), for agents and IDEs.

Tools: ``ask`` (a cited answer), ``search`` (passages only) and ``get_document`` (the cleaned
text of a document or a span of it, the context of a citation). Stdio is the default, the
transport desktop clients spawn; ``--transport streamable-http`` serves the same tools at
``http://HOST:PORT/mcp``.

The core is opened in a background thread when the server starts, so ``initialize`` answers
at once and the first tool call waits for the index (and builds it if there is none).
While serving stdio, the SDK points fd 1 at stderr, so stray output cannot corrupt the wire.
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from pydantic import BaseModel, Field
from wenda.api.schemas import TOP_K_DEFAULT, TOP_K_MAX, TOP_K_MIN, DocumentText, PassageOut
from wenda.index.errors import WendaError
from wenda.index.interface import QACore
from wenda.index.settings import Settings

log = logging.getLogger("wenda.mcp")

DEFAULT_MCP_PORT = 8001
INSTRUCTIONS = (
    "Wenda answers questions about a collection of Chinese documents with cited passages. "
    "Use `ask` for an answer, `search` for passages only, `get_document` to read the text "
    "around a citation (doc_id plus start/end offsets from a passage)."
)


Question = Annotated[str, Field(min_length=1, description="The question (Chinese works best).")]
TopK = Annotated[int, Field(ge=TOP_K_MIN, le=TOP_K_MAX, description="Passages to return.")]


class AskResult(BaseModel):
    answer: str = Field(description="The answer with its [n] citation markers, or the refusal.")
    answerable: bool = Field(description="False when the documents do not contain the answer.")
    reason: str | None = Field(default=None, description="Why it was refused, when known.")
    missing: list[str] = Field(
        default_factory=list, description="Question terms the documents lack (refusals)."
    )
    passages: list[PassageOut] = Field(description="Cited passages, or the closest ones.")
    index_version: str


class SearchResult(BaseModel):
    passages: list[PassageOut] = Field(description="Best passages first.")
    index_version: str


class CoreHolder:
    """Opens the core once (in whatever thread asks first) and hands it out."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._core: QACore | None = None

    def get(self) -> QACore:
        with self._lock:
            if self._core is None:
                from wenda.index.core import Wenda  # heavy: numpy, faiss, the model

                self._core = Wenda.open(self.settings, build_if_missing=True)
                log.info("index loaded: version %s", self._core.version)
            return self._core

    def preload(self) -> None:
        try:
            self.get()
        except Exception as exc:  # reported again to the first tool call
            log.warning("could not load the index yet: %s", exc)

    def close(self) -> None:
        with self._lock:
            core, self._core = self._core, None
        if core is not None:
            core.close()


def answer_data(core: QACore, question: str, top_k: int) -> dict[str, Any]:
    """The answer as JSON data, with the version of the snapshot that answered."""
    answer = core.ask(question, top_k)
    return {**answer.to_dict(), "index_version": answer.index_version}


def _passages(data: dict[str, Any]) -> list[PassageOut]:
    return [PassageOut.model_validate(p) for p in data["passages"]]


def build_server(holder: CoreHolder) -> Any:
    """The MCP server with Wenda's three tools (returns ``mcp.server.mcpserver.MCPServer``)."""
    import anyio
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    async def call(fn: Any, *args: Any) -> Any:
        def run() -> Any:
            return fn(holder.get(), *args)

        try:
            return await anyio.to_thread.run_sync(run)
        except WendaError as exc:  # a domain error is the caller's to read, not a crash
            raise ToolError(exc.message) from exc

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        threading.Thread(target=holder.preload, name="wenda-load", daemon=True).start()
        yield

    server = MCPServer("wenda", instructions=INSTRUCTIONS, lifespan=lifespan)

    @server.tool(name="ask", title="问答 Ask")
    async def ask(question: Question, top_k: TopK = TOP_K_DEFAULT) -> AskResult:
        """Answer a question from the documents, citing the passages the answer comes from."""
        data = await call(answer_data, question, top_k)
        return AskResult(
            answer=data["answer"],
            answerable=data["answerable"],
            reason=data.get("reason"),
            missing=data.get("missing") or [],
            passages=_passages(data),
            index_version=data["index_version"],
        )

    @server.tool(name="search", title="检索 Search")
    async def search(question: Question, top_k: TopK = TOP_K_DEFAULT) -> SearchResult:
        """Find the passages most relevant to a question, without composing an answer."""
        data = await call(answer_data, question, top_k)
        return SearchResult(passages=_passages(data), index_version=data["index_version"])

    @server.tool(name="get_document", title="原文 Document")
    async def get_document(
        doc_id: Annotated[str, Field(description="Document id, as in a passage's doc_id.")],
        start: Annotated[int | None, Field(ge=0, description="Span start offset.")] = None,
        end: Annotated[int | None, Field(ge=0, description="Span end offset (exclusive).")] = None,
    ) -> DocumentText:
        """The cleaned text of a document, or of the span [start, end) a citation points to."""
        return await call(document_span, doc_id, start, end)

    return server


def document_span(core: QACore, doc_id: str, start: int | None, end: int | None) -> DocumentText:
    from wenda.index.errors import DocumentNotFoundError

    info = next((d for d in core.documents() if d.doc_id == doc_id), None)
    if info is None:
        raise DocumentNotFoundError(doc_id)
    text = core.document_text(doc_id, start, end)
    begin = start or 0
    return DocumentText(
        doc_id=doc_id,
        title=info.title,
        start=begin,
        end=begin + len(text),
        chars=info.chars,
        text=text,
    )


def register(subparsers: Any) -> None:
    """Add the ``mcp`` sub-command to the core CLI's argparse subparsers."""
    parser = subparsers.add_parser(
        "mcp",
        help="serve the documents as an MCP server (tools ask, search, get_document)",
        description=(
            "MCP server for agents and IDEs. Default: stdio (configure your client to run "
            "`wenda mcp`). --transport streamable-http serves http://HOST:PORT/mcp instead."
        ),
    )
    parser.add_argument(
        "--transport", choices=("stdio", "streamable-http"), default="stdio", help="transport"
    )
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address")
    parser.add_argument("--port", type=int, default=DEFAULT_MCP_PORT, help="HTTP port")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until the client disconnects (stdio) or until interrupted (HTTP)."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("wenda").setLevel(logging.INFO)
    holder = CoreHolder(settings)
    server = build_server(holder)
    try:
        if args.transport == "stdio":
            server.run("stdio")
        else:
            serve_http(server, settings, args.host, args.port)
    finally:
        holder.close()
    return 0


def serve_http(server: Any, settings: Settings, host: str, port: int) -> None:
    """Streamable HTTP at ``/mcp``, behind the API's keys and rate limit (WENDA_API_KEYS,
    WENDA_RATE_LIMIT_PER_MINUTE): every path needs a key when keys are set."""
    import uvicorn
    from wenda.api.auth import ApiProtectionMiddleware
    from wenda.api.settings import ApiSettings

    api = ApiSettings.from_core(settings)
    app = ApiProtectionMiddleware(
        server.streamable_http_app(host=host),
        api_keys=api.api_keys,
        rate_limit_per_minute=api.rate_limit_per_minute,
        protects=lambda path: True,
    )
    uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info")).run()
