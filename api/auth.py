"""Protection of the question endpoints: optional API keys and a per-client rate limit.

Both apply only to ``/ask``, ``/v1/*``, ``/feedback`` (which re-asks the question) and
``/followup`` (the paths that cost CPU per request); health
probes, the page, the docs and ``/metrics`` are never limited. A pure ASGI middleware, so a
rejected request never reaches body parsing and streaming responses pass through untouched.

Keys are compared in constant time (``hmac.compare_digest`` against every configured key, so
timing reveals neither which key nor how much of it matched). The rate limit is a moving
window per client (the API key when keys are configured, else the client address), kept in
memory by the ``limits`` library; a rejected request gets 429 with ``Retry-After``.
"""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Callable, Sequence

from fastapi.responses import JSONResponse
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

PROTECTED_PREFIXES = ("/v1/",)
PROTECTED_PATHS = frozenset({"/ask", "/v1", "/feedback", "/followup"})

MISSING_KEY = (
    "需要 API 密钥：请在请求头中加上 Authorization: Bearer <密钥>。 "
    "An API key is required: send Authorization: Bearer <key>."
)
WRONG_KEY = "API 密钥无效。 Invalid API key."
KEY_ERRORS = {True: ("missing_api_key", MISSING_KEY), False: ("invalid_api_key", WRONG_KEY)}
"""(code, message) by "was the key missing?"."""


def is_protected(path: str) -> bool:
    return path in PROTECTED_PATHS or path.startswith(PROTECTED_PREFIXES)


def bearer_token(headers: Headers) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def key_matches(token: str, keys: Sequence[str]) -> bool:
    """Constant-time check against every key (no early exit on the first match)."""
    given = token.encode("utf-8")
    found = False
    for key in keys:
        found |= hmac.compare_digest(given, key.encode("utf-8"))
    return found


def rejection(
    status: int, code: str, message: str, kind: str, headers: dict[str, str]
) -> JSONResponse:
    """Wenda's error body with OpenAI's ``type``/``param`` too: valid for /ask and /v1 alike."""
    body = {"error": {"code": code, "message": message, "type": kind, "param": None}}
    return JSONResponse(body, status_code=status, headers=headers)


class RateLimiter:
    """At most ``per_minute`` requests per client in any 60-second window."""

    def __init__(self, per_minute: int) -> None:
        self.item = RateLimitItemPerMinute(per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, client: str) -> int | None:
        """Count one request; None if allowed, else the seconds until the next one is."""
        if self._limiter.hit(self.item, client):
            return None
        stats = self._limiter.get_window_stats(self.item, client)
        return max(1, math.ceil(stats.reset_time - time.time()))


class ApiProtectionMiddleware:
    """Bearer API keys (when configured) and a per-client rate limit (when configured)."""

    def __init__(
        self,
        app: ASGIApp,
        api_keys: Sequence[str] = (),
        rate_limit_per_minute: int | None = None,
        protects: Callable[[str], bool] = is_protected,
    ) -> None:
        """``protects``: which paths need a key (the API's; ``wenda mcp`` guards all)."""
        self.app = app
        self.api_keys = tuple(k for k in api_keys if k)
        self.limiter = RateLimiter(rate_limit_per_minute) if rate_limit_per_minute else None
        self.protects = protects

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.protects(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        token = bearer_token(headers)
        client = self._client(scope)
        if self.api_keys:
            if token is None or not key_matches(token, self.api_keys):
                code, message = KEY_ERRORS[token is None]
                response = rejection(
                    401, code, message, "authentication_error", {"WWW-Authenticate": "Bearer"}
                )
                await response(scope, receive, send)
                return
            client = "key:" + (token or "")
        if self.limiter is not None:
            retry_after = self.limiter.hit(client)
            if retry_after is not None:
                per_minute = self.limiter.item.amount
                response = rejection(
                    429,
                    "rate_limited",
                    f"请求太频繁：每分钟最多 {per_minute} 次，请 {retry_after} 秒后再试。 "
                    f"Too many requests: at most {per_minute} per minute; "
                    f"retry in {retry_after} s.",
                    "rate_limit_error",
                    {"Retry-After": str(retry_after)},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _client(scope: Scope) -> str:
        peer = scope.get("client")
        return "ip:" + (peer[0] if peer else "unknown")
