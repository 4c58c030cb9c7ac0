"""The error edge: every failure leaves as ``{"error": {"code", "message"}}``, never a traceback.

Domain errors from ``wenda.index.errors`` are translated here, FastAPI's validation errors get
readable bilingual messages (Chinese first, then English), and anything unexpected becomes a
logged 500 whose body reveals nothing about the internals.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from wenda.api.schemas import TOP_K_MAX, TOP_K_MIN
from wenda.index import errors as domain

log = logging.getLogger("wenda.api")

_CJK = re.compile(r"[\u4e00-\u9fff]")

INTERNAL_MESSAGE = "服务器内部错误，请稍后再试。 Internal server error; please try again later."

# Domain error -> (HTTP status, code). Order matters: subclasses before WendaError.
_DOMAIN: list[tuple[type[domain.WendaError], int, str]] = [
    (domain.QuestionTooLongError, 422, "question_too_long"),
    (domain.InvalidQuestionError, 422, "invalid_question"),
    (domain.DocumentNotFoundError, 404, "document_not_found"),
    (domain.InvalidSpanError, 422, "invalid_span"),
    (domain.BuildInProgressError, 409, "build_in_progress"),
    (domain.IndexNotReadyError, 503, "index_not_ready"),
    (domain.CorpusNotFoundError, 503, "corpus_not_found"),
    (domain.ModelLoadError, 503, "model_unavailable"),
    (domain.IndexWriteError, 503, "index_write_failed"),
    (domain.StoreUnavailableError, 503, "store_unavailable"),
]

_OPERATORS = {
    "greater_than_equal": ">=",
    "less_than_equal": "<=",
    "greater_than": ">",
    "less_than": "<",
}

_HTTP_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求无法解析。 The request could not be parsed."),
    401: ("unauthorized", "需要身份验证。 Authentication required."),
    403: ("forbidden", "没有权限。 Forbidden."),
    404: ("not_found", "找不到这个地址。 Not found."),
    405: ("method_not_allowed", "不支持这个请求方法。 Method not allowed."),
    413: ("body_too_large", "请求体太大。 Request body too large."),
    415: ("unsupported_media_type", "不支持的内容类型。 Unsupported media type."),
}


class ApiError(Exception):
    """Raised by routes and dependencies for an expected, user-facing failure."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        job_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.job_id = job_id


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse({"error": body}, status_code=status, headers=dict(headers or {}))


def domain_status(exc: domain.WendaError) -> tuple[int, str]:
    for cls, status, code in _DOMAIN:
        if isinstance(exc, cls):
            return status, code
    return 500, "internal_error"


# --- validation errors ------------------------------------------------------------------


def _field(loc: Sequence[Any]) -> str | None:
    """The user-visible name of a field: the last string in loc, except the 'body' root."""
    names = [str(p) for p in loc if isinstance(p, str) and p not in ("body", "query", "path")]
    return names[-1] if names else None


def _describe(err: Mapping[str, Any]) -> tuple[int, str, str, str]:
    """(status, code, Chinese, English) for one pydantic/FastAPI error."""
    kind = str(err.get("type", ""))
    field = _field(err.get("loc", ()))
    ctx = err.get("ctx") or {}
    name = field or "body"
    if kind == "json_invalid":
        return 400, "invalid_json", "请求体不是合法的 JSON。", "The request body is not valid JSON."
    if kind == "missing" and field is None:
        return (
            422,
            "missing_body",
            '缺少请求体，请发送 JSON，例如 {"question": "……"}。',
            'Missing request body; send JSON such as {"question": "..."}.',
        )
    if field is None and kind in ("model_attributes_type", "dict_type", "model_type"):
        return (
            422,
            "body_not_object",
            "请求体必须是 JSON 对象，并带有 Content-Type: application/json。",
            "The body must be a JSON object sent with Content-Type: application/json.",
        )
    if kind == "missing":
        return 422, "missing_field", f"缺少必填字段 {name}。", f"Missing required field '{name}'."
    if field in ("question", "q") and kind in ("value_error", "string_too_short"):
        return 422, "empty_question", "问题不能为空。", "The question must not be empty."
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        zh = f"参数 {name} 不能为空（至少 {least} 项）。"
        return 422, "too_short", zh, f"'{name}' needs at least {least} item(s)."
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return 422, "wrong_type", f"参数 {name} 必须是整数。", f"'{name}' must be an integer."
    if kind in ("string_type", "string_unicode"):
        return 422, "wrong_type", f"参数 {name} 必须是文本。", f"'{name}' must be a string."
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        if field == "top_k":
            lo, hi = TOP_K_MIN, TOP_K_MAX
            zh = f"参数 top_k 必须是 {lo} 到 {hi} 之间的整数。"
            return 422, "invalid_top_k", zh, f"top_k must be an integer from {lo} to {hi}."
        bound = next(iter(ctx.values()), "?")
        op = _OPERATORS[kind]
        zh = f"参数 {name} 超出范围（应 {op} {bound}）。"
        return 422, "out_of_range", zh, f"'{name}' is out of range (must be {op} {bound})."
    msg = str(err.get("msg", "invalid"))
    return 422, "invalid_input", f"参数 {name} 无效。", f"Invalid '{name}': {msg}."


def describe_validation(errors: Sequence[Mapping[str, Any]]) -> tuple[int, str, str]:
    """Status, code and one bilingual message for a list of validation errors."""
    described = [_describe(e) for e in errors] or [
        (422, "invalid_input", "输入无效。", "Invalid input.")
    ]
    status, code = described[0][0], described[0][1]
    zh = "".join(dict.fromkeys(d[2] for d in described))
    en = " ".join(dict.fromkeys(d[3] for d in described))
    return status, code, f"{zh} {en}"


def _details(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The error list without ``input``/``ctx``: they may echo a huge body or hold objects."""
    return [
        {"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": e.get("msg")} for e in errors
    ]


# --- handlers -----------------------------------------------------------------------------


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, headers=exc.headers, job_id=exc.job_id)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, domain.WendaError)
    status, code = domain_status(exc)
    if status >= 500 and code == "internal_error":
        where = f"{request.method} {request.url.path}"
        log.error("unexpected domain error on %s", where, exc_info=exc)
        return error_response(500, code, INTERNAL_MESSAGE)
    return error_response(status, code, exc.message)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    status, code, message = describe_validation(errors)
    return error_response(status, code, message, details=_details(errors))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, message = _HTTP_MESSAGES.get(exc.status_code, (f"http_{exc.status_code}", ""))
    if isinstance(exc.detail, str) and (_CJK.search(exc.detail) or not message):
        message = exc.detail  # our own bilingual detail (e.g. the 413 with its limit)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(exc.status_code, code, message, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. Starlette's 405 names only the first
    route that matched the path, so ``OPTIONS /ask`` said ``Allow: POST`` though GET works
    too (RFC 9110: a 405 lists all of them). Each method is tried against the routes, so
    nested routers need no walking."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(domain.WendaError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


class InternalErrorMiddleware:
    """Turns an unhandled exception into a logged, generic JSON 500.

    Pure ASGI (not BaseHTTPMiddleware) so streaming and background work are untouched, and
    unlike an ``Exception`` handler it does not re-raise, so the traceback is logged once.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except ClientDisconnect:
            # The client went away mid-body: nobody to answer, nothing broke. One quiet
            # line, not a traceback (aborted uploads must not flood the log).
            log.info("client disconnected during %s %s", scope.get("method"), scope.get("path"))
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = error_response(500, "internal_error", INTERNAL_MESSAGE)
            await response(scope, receive, send)
