"""``POST /reindex`` and ``GET /reindex/{job_id}``: rebuild the index from the corpus, online.

Guarded by a bearer token (``WENDA_ADMIN_TOKEN``). With no token configured the endpoints are
disabled (403) rather than open: rebuilding is expensive and must not be anyone's to trigger.
Only one build runs at a time; a second ``POST`` gets 409 with the running job's id (and a
Location header pointing at it) rather than a second build queued behind it. Job status needs
the token as well: build reports list corpus file names.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from wenda.api.errors import ApiError
from wenda.api.jobs import JobConflictError
from wenda.api.metrics import app_metrics
from wenda.api.schemas import ErrorResponse, JobOut
from wenda.api.state import CoreDep, StateDep

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AdminToken",
    description="The server's WENDA_ADMIN_TOKEN, sent as `Authorization: Bearer <token>`.",
)


async def require_admin(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """403 when no token is configured, 401 for a missing or wrong one (constant-time check)."""
    expected = (state.settings.admin_token or "").strip()
    if not expected:
        raise ApiError(
            403,
            "reindex_disabled",
            "重建索引接口未启用：服务器没有设置 WENDA_ADMIN_TOKEN。 "
            "Reindexing over HTTP is disabled: the server has no WENDA_ADMIN_TOKEN set.",
        )
    given = credentials.credentials if credentials is not None else ""
    # Header values arrive decoded as latin-1; re-encoding gives the raw bytes the client sent,
    # so a UTF-8 token compares correctly too.
    if not hmac.compare_digest(given.encode("latin-1"), expected.encode("utf-8")):
        raise ApiError(
            401,
            "unauthorized",
            "需要有效的管理员令牌（Authorization: Bearer <令牌>）。 "
            "A valid admin token is required (Authorization: Bearer <WENDA_ADMIN_TOKEN>).",
            headers={"WWW-Authenticate": "Bearer"},
        )


router = APIRouter(
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses={
        401: {"model": ErrorResponse, "description": "Missing or wrong admin token."},
        403: {"model": ErrorResponse, "description": "No admin token configured: disabled."},
    },
)


@router.post(
    "/reindex",
    status_code=202,
    response_model=JobOut,
    summary="Start an incremental rebuild",
    responses={
        409: {"model": ErrorResponse, "description": "A rebuild is already running (job_id)."},
        413: {"model": ErrorResponse, "description": "Body larger than WENDA_MAX_BODY_BYTES."},
        503: {"model": ErrorResponse, "description": "The index is still loading."},
    },
)
async def start_reindex(
    request: Request, response: Response, state: StateDep, core: CoreDep
) -> dict[str, Any]:
    """Rebuild from the corpus directory in the background; poll the returned job.

    The new version is published and swapped in atomically by the core; requests in flight
    finish on the old one and nothing waits for the build.
    """
    try:
        job = state.jobs.submit(app_metrics(request.app).timed_build("reindex", core.reindex))
    except JobConflictError as exc:
        running = exc.job["job_id"]
        raise ApiError(
            409,
            "reindex_running",
            f"已有重建任务在运行（{running}）。 A reindex job is already running: {running}.",
            headers={"Location": str(request.url_for("reindex_job", job_id=running))},
            job_id=running,
        ) from None
    response.headers["Location"] = str(request.url_for("reindex_job", job_id=job["job_id"]))
    return job


@router.get(
    "/reindex/{job_id}",
    response_model=JobOut,
    name="reindex_job",
    summary="Progress and outcome of a rebuild",
    responses={404: {"model": ErrorResponse, "description": "Unknown job id."}},
)
async def reindex_job(job_id: str, state: StateDep) -> dict[str, Any]:
    job = state.jobs.get(job_id)
    if job is None:
        raise ApiError(
            404, "job_not_found", f"找不到任务：{job_id}。 No reindex job with id {job_id!r}."
        )
    return job
