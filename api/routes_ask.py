"""``POST /ask`` and ``GET /ask``: a question in, the core's cited answer out.

Answering encodes the question (CPU-bound), so it runs in the threadpool: the event loop stays
free for other requests, health checks and the page. With a lone client connected it runs on
the loop instead, which saves the thread hop (``api.scheduling``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator
from wenda.api.limits import Utf8JsonRoute
from wenda.api.metrics import app_metrics
from wenda.api.schemas import (
    TOP_K_DEFAULT,
    TOP_K_MAX,
    TOP_K_MIN,
    AskRequest,
    AskResponse,
    ErrorResponse,
    not_blank,
)
from wenda.api.state import Core, loaded_core

router = APIRouter(route_class=Utf8JsonRoute, tags=["ask"])

ASK_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Body is not valid UTF-8 JSON."},
    401: {"model": ErrorResponse, "description": "Missing or wrong API key (WENDA_API_KEYS)."},
    413: {"model": ErrorResponse, "description": "Body larger than WENDA_MAX_BODY_BYTES."},
    422: {"model": ErrorResponse, "description": "Empty/too long question, bad top_k, bad type."},
    429: {"model": ErrorResponse, "description": "Rate limit exceeded; see Retry-After."},
    503: {"model": ErrorResponse, "description": "The index is still loading or failed to load."},
}


def answer_response(core: Core, question: str, top_k: int) -> tuple[JSONResponse, bool]:
    """The core's answer, already rendered as JSON, wherever the scheduler runs it."""
    result = core.ask(question, top_k)
    data = result.to_dict()
    data["took_ms"] = round(float(result.took_ms), 2)
    data["index_version"] = result.index_version
    return JSONResponse(data), result.answerable


async def answer(request: Request, question: str, top_k: int) -> JSONResponse:
    """Ask (off the loop unless one client is connected); domain errors become 4xx at the edge.

    The handler returns a ready response, so FastAPI skips re-validating the core's own
    output against ``AskResponse`` (still the documented schema, and checked in the tests):
    that and a second serialisation were ~0.3 ms of the loop's time per request. The core,
    metrics and scheduler are read from the app here, not injected: FastAPI's dependency
    resolution was ~0.1 ms a request for three attribute lookups.
    """
    return await respond(request.app, loaded_core(request.app.state.wenda), question, top_k)


async def respond(app: Any, core: Core, question: str, top_k: int) -> JSONResponse:
    """The answer as the app's scheduler runs it, counted in the metrics (the route and the
    ``POST /ask`` fast lane both answer through here)."""
    response, answerable = await app.state.ask_scheduler.run(answer_response, core, question, top_k)
    app_metrics(app).observe_answer("ask", answerable)
    return response


@router.post("/ask", response_model=AskResponse, responses=ASK_ERRORS, summary="Ask a question")
async def ask_post(body: AskRequest, request: Request) -> JSONResponse:
    """Answer a question from the indexed documents, citing the passages it used."""
    return await answer(request, body.question, body.top_k)


@router.get("/ask", response_model=AskResponse, responses=ASK_ERRORS, summary="Ask (query string)")
async def ask_get(
    request: Request,
    q: Annotated[
        str,
        Query(min_length=1, description="The question (same rules as POST /ask)."),
        AfterValidator(not_blank),
    ],
    top_k: Annotated[
        int, Query(ge=TOP_K_MIN, le=TOP_K_MAX, description="How many passages to return.")
    ] = TOP_K_DEFAULT,
) -> JSONResponse:
    """The same as ``POST /ask`` for links and quick curl use: ``/ask?q=...&top_k=5``."""
    return await answer(request, q, top_k)
