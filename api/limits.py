"""Request-body hygiene: a size cap enforced before parsing, and strict UTF-8 JSON bodies.

The size cap checks the declared Content-Length up front (cheap rejection, the body is never
read) and also counts the bytes actually streamed, because chunked uploads and lying clients
declare nothing or too little.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from wenda.api.errors import ApiError, error_response

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def too_large_message(limit: int) -> str:
    kib = limit / 1024
    return (
        f"请求体太大（上限 {kib:g} KiB）。 "
        f"Request body too large (limit {kib:g} KiB = {limit} bytes)."
    )


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` once the streamed body passes the limit.

    An ``HTTPException`` on purpose: FastAPI re-raises those from its body parsing instead of
    turning them into a generic 400, so the error handler renders a proper 413.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large_message(limit))
        self.limit = limit


class BodySizeLimitMiddleware:
    """Rejects request bodies over ``max_bytes`` with 413, by header and by streamed size."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            try:
                length = int(declared)
                if length < 0:
                    raise ValueError(declared)
            except ValueError:
                response = error_response(
                    400,
                    "invalid_content_length",
                    "Content-Length 请求头无效。 Invalid Content-Length header.",
                )
                await response(scope, receive, send)
                return
            if length > self.max_bytes:
                await self._reject(scope, receive, send)
                return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
            return message

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, send_tracking)
        except BodyTooLargeError:
            # Only reached when the body was read outside FastAPI's handlers (e.g. a plain
            # Starlette route); normally the exception handler has already answered.
            if started:
                raise
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, "body_too_large", too_large_message(self.max_bytes))
        await response(scope, receive, send)


def check_utf8_json_bytes(body: bytes) -> None:
    """Reject bodies that are not UTF-8 text before JSON parsing sees them.

    ``json.loads`` on bytes would otherwise guess UTF-16/32 and accept them, and raise a
    UnicodeDecodeError that FastAPI reports only as a vague "error parsing the body".
    A NUL byte can never occur in JSON text, so it also rules out BOM-less UTF-16.
    """
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        ok = False
    else:
        ok = b"\x00" not in body
    if not ok:
        raise ApiError(
            400,
            "invalid_encoding",
            "请求体必须是 UTF-8 编码的 JSON。 The request body must be UTF-8 encoded JSON.",
        )


class Utf8JsonRoute(APIRoute):
    """An APIRoute that validates the body's encoding before FastAPI parses it as JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            if request.method in _BODY_METHODS:
                body = await request.body()  # cached on the request; FastAPI reuses it
                if body:
                    check_utf8_json_bytes(body)
            return await handler(request)

        return checked
