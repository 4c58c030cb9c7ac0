"""Every Bot API call retried through flood control and transient failures; losses logged.

python-telegram-bot passes every request (except ``getUpdates``, which its updater already
retries) through the application's rate limiter, which makes that the one place to make
delivery reliable: a 429 waits the ``retry_after`` Telegram asks for, a 5xx, timeout or
network error is retried with exponential backoff, and a reply that still cannot be sent
is logged as an ERROR naming the method and chat, never dropped silently. A new message
whose request reached Telegram but whose answer timed out is not sent again: Telegram has
no idempotency key, so a retry would show the user the same reply twice; it is raised as
``MaybeDelivered`` and logged as a WARNING (edits and button answers are idempotent and
are retried; a connect, pool or write timeout means the request never fully left, so it is
retried too). Calls that
deliver nothing to a user (``getMe`` and friends at start-up) are not retried, so a bot
without network fails fast with one clear line. Client errors
(400 Bad Request, 403 Forbidden, …) are not retried: sending the same request again
cannot fix them.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

logger = logging.getLogger("wenda.bot.retry")

Result = bool | dict[str, Any] | list[dict[str, Any]]


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: timeouts and network/5xx errors (NetworkError), not a BadRequest."""
    return isinstance(exc, TimedOut) or (
        isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)
    )


class MaybeDelivered(TimedOut):
    """A new message timed out after its request was sent: it may be on the user's screen."""


def sent_before_timeout(exc: BaseException) -> bool:
    """A read timeout: the whole request reached Telegram, only its answer is late, so the
    message is almost surely there. Connect, pool and write timeouts mean it never (fully)
    left."""
    return isinstance(exc, TimedOut) and isinstance(exc.__cause__, httpx.ReadTimeout)


def creates_a_message(endpoint: str) -> bool:
    """Calls that add a message each time they run (a duplicate is visible), unlike edits."""
    return endpoint.startswith(("send", "forward", "copy")) and endpoint != "sendChatAction"


def delivers_to_a_user(data: dict[str, Any]) -> bool:
    """Replies, edits and button answers: the calls whose loss a user would notice."""
    return "chat_id" in data or "callback_query_id" in data


def retry_seconds(exc: RetryAfter) -> float:
    """``retry_after`` in seconds (an int or a timedelta, depending on PTB_TIMEDELTA)."""
    with warnings.catch_warnings():  # PTB warns that the int form is deprecated
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


class RetryingLimiter(BaseRateLimiter[int]):
    """Retries each request up to ``max_attempts`` times; ``rate_limit_args`` overrides it."""

    def __init__(
        self,
        max_attempts: int = 5,
        base_delay: float = 0.25,
        max_delay: float = 30.0,
        max_retry_after: float = 120.0,
    ) -> None:
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after  # longer flood waits fail instead of hanging
        self.retried = 0
        self.lost = 0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        if not delivers_to_a_user(data):  # start-up calls (getMe, …) fail fast, in one line
            return await callback(*args, **kwargs)
        attempts = rate_limit_args or self.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                delay = retry_seconds(exc)
                if attempt == attempts or delay > self.max_retry_after:
                    self._lost(endpoint, data, attempt, exc)
                    raise
                logger.warning("%s: flood control, retrying in %.1f s", endpoint, delay)
            except Exception as exc:
                if creates_a_message(endpoint) and sent_before_timeout(exc):
                    logger.warning(
                        "Bot API %s to chat %s timed out after it was sent; not sent again, "
                        "so the user sees it at most once (it may not have arrived): %s",
                        endpoint,
                        data.get("chat_id"),
                        exc,
                    )
                    raise MaybeDelivered(str(exc)) from exc
                if not is_transient(exc) or attempt == attempts:
                    if is_transient(exc):
                        self._lost(endpoint, data, attempt, exc)
                    raise
                delay = min(self.base_delay * 2 ** (attempt - 1), self.max_delay)
                logger.warning(
                    "%s failed (%s); retry %d/%d in %.1f s",
                    endpoint,
                    exc,
                    attempt,
                    attempts - 1,
                    delay,
                )
            self.retried += 1
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _lost(self, endpoint: str, data: dict[str, Any], attempts: int, exc: Exception) -> None:
        self.lost += 1
        logger.error(
            "Bot API %s to chat %s failed after %d attempt(s), not delivered: %s",
            endpoint,
            data.get("chat_id"),
            attempts,
            exc,
        )
