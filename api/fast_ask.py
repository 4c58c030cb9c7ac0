"""``POST /ask`` without FastAPI's per-request machinery, for well-formed requests.

Why: issue 14 holds ``POST /ask`` to 1.5x the bare question encode (~3-4 ms). FastAPI's
route handling (request object, body field, dependency solving, exception middleware) ran
~0.1 ms warm, and ~0.3 ms right after an answer, whose encoder run had evicted the
framework's code and data from the caches. This middleware sits inside every other
middleware (metrics, the 500 guard, API keys and rate limit, the body-size cap), so those
still apply, and takes only requests FastAPI would accept: a UTF-8 JSON body that
``AskRequest`` validates, with the index loaded. Anything else (bad JSON or encoding, a
validation error, a domain error from the core, the index still loading) is replayed,
body and all, to the FastAPI route, which answers with the usual 4xx/503 JSON. The route
stays registered, so ``/docs`` and the OpenAPI schema document it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from wenda.api.routes_ask import respond, router
from wenda.api.schemas import AskRequest
from wenda.index.errors import WendaError

PATH = "/ask"


class FastAskMiddleware:
    """Answers valid ``POST /ask`` requests itself; everything else goes to ``app``."""

    def __init__(self, app: ASGIApp, fastapi_app: Any) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.route: Any = None  # FastAPI's own /ask route, for the metrics' route label

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client left before its body arrived: no one to answer
        request = _parse(body)
        core = self.fastapi_app.state.wenda.core
        if request is not None and core is not None:
            try:
                response = await respond(self.fastapi_app, core, request.question, request.top_k)
            except WendaError:
                pass  # the route raises it again and renders its 4xx
            else:
                scope["route"] = self._ask_route()
                await response(scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)

    def _ask_route(self) -> Any:
        if self.route is None:
            self.route = next(r for r in router.routes if getattr(r, "path", None) == PATH)
        return self.route


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body (the size cap's ``receive`` counts it), None on disconnect."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _parse(body: bytes) -> AskRequest | None:
    """The request as the route would read it, or None for the route to reject it."""
    if b"\x00" in body:
        return None
    try:
        data = json.loads(body.decode("utf-8"))
        return AskRequest.model_validate(data)
    except (UnicodeDecodeError, ValueError, ValidationError):
        return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the body already read back first, then the real one."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
