"""Liveness and readiness probes.

``/healthz`` answers as soon as the process serves HTTP; ``/readyz`` only once the index is
loaded, and it also asks the core to pick up a version published by another process.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from wenda.api.schemas import ErrorInfo, Health, NotReady, Ready
from wenda.api.state import LOADING_MESSAGE, StateDep
from wenda.index.errors import StoreUnavailableError

log = logging.getLogger("wenda.api")

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    return Health()


@router.get(
    "/readyz",
    response_model=Ready,
    summary="Readiness: the index is loaded",
    responses={503: {"model": NotReady, "description": "Still loading, or loading failed."}},
)
async def readyz(state: StateDep, request: Request) -> Any:
    core = state.core
    if core is None:
        if state.load_error is not None:
            message = (
                f"索引加载失败，正在等待可用的新版本 / The index failed to load, waiting for "
                f"a usable version: {state.load_error}"
            )
            error = ErrorInfo(code="index_unavailable", message=message)
            body = NotReady(status="failed", error=error)
        else:
            error = ErrorInfo(code="index_loading", message=LOADING_MESSAGE)
            body = NotReady(status="loading", error=error)
        headers = {"Retry-After": "2"} if body.status == "loading" else None
        return JSONResponse(body.model_dump(exclude_none=True), status_code=503, headers=headers)
    try:
        await run_in_threadpool(core.refresh)
    except StoreUnavailableError:  # Milvus lost: not ready (503 JSON via the domain handler)
        raise
    except Exception:  # a failed reload keeps serving the current version
        log.warning("index refresh from /readyz failed", exc_info=True)
    status = await run_in_threadpool(core.status)
    watcher = getattr(request.app.state, "watcher", None)  # WENDA_WATCH=1
    return Ready(
        version=status.version,
        documents=status.documents,
        chunks=status.chunks,
        model=status.model,
        dim=status.dim,
        dense_index=status.dense_index,
        degraded=status.degraded,
        sentence_states=status.sentence_states,
        watch=None if watcher is None else watcher.status(),
    )
