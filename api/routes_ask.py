"""``POST /ask`` and ``GET /ask``: a question in, the core's cited answer out.

Answering encodes the question (CPU-bound), so it runs in the threadpool: the event loop stays
free for other requests, health checks and the page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool
from wenda.api.limits import Utf8JsonRoute
from wenda.api.metrics import Metrics, MetricsDep
from wenda.api.schemas import (
    TOP_K_DEFAULT,
    TOP_K_MAX,
    TOP_K_MIN,
    AskRequest,
    AskResponse,
    ErrorResponse,
    not_blank,
)
from wenda.api.state import Core, CoreDep

router = APIRouter(route_class=Utf8JsonRoute, tags=["ask"])

ASK_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Body is not valid UTF-8 JSON."},
    413: {"model": ErrorResponse, "description": "Body larger than WENDA_MAX_BODY_BYTES."},
    422: {"model": ErrorResponse, "description": "Empty/too long question, bad top_k, bad type."},
    503: {"model": ErrorResponse, "description": "The index is still loading or failed to load."},
}


def _answer_response(core: Core, question: str, top_k: int) -> tuple[JSONResponse, bool]:
    """The core's answer, already rendered as JSON: all of it runs in the worker thread."""
    result = core.ask(question, top_k)
    data = result.to_dict()
    data["took_ms"] = round(float(result.took_ms), 2)
    data["index_version"] = result.index_version
    return JSONResponse(data), result.answerable


async def answer(core: Core, question: str, top_k: int, metrics: Metrics) -> JSONResponse:
    """Ask off the event loop; the core's domain errors become 4xx at the error edge.

    The handler returns a ready response, so FastAPI skips re-validating the core's own
    output against ``AskResponse`` (still the documented schema, and checked in the tests):
    that and a second serialisation were ~0.3 ms of the loop's time per request.
    """
    response, answerable = await run_in_threadpool(_answer_response, core, question, top_k)
    metrics.observe_answer("ask", answerable)
    return response


@router.post("/ask", response_model=AskResponse, responses=ASK_ERRORS, summary="Ask a question")
async def ask_post(body: AskRequest, core: CoreDep, metrics: MetricsDep) -> JSONResponse:
    """Answer a question from the indexed documents, citing the passages it used."""
    return await answer(core, body.question, body.top_k, metrics)


@router.get("/ask", response_model=AskResponse, responses=ASK_ERRORS, summary="Ask (query string)")
async def ask_get(
    core: CoreDep,
    metrics: MetricsDep,
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
    return await answer(core, q, top_k, metrics)
