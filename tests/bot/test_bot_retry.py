"""The retrying rate limiter on its own: which failures are retried and which are not.

A new message whose answer timed out after the request left may already be in the chat,
and Telegram has no idempotency key, so it must not be sent twice; everything that cannot
duplicate (a connect timeout, an edit) is still retried.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from telegram.error import TimedOut
from wenda.bot.retry import MaybeDelivered, RetryingLimiter, creates_a_message


def _flaky(cause: Exception, failures: int = 1) -> tuple[list[int], Any]:
    calls: list[int] = []

    async def callback() -> dict[str, Any]:
        calls.append(1)
        if len(calls) <= failures:
            raise TimedOut() from cause
        return {"message_id": 1}

    return calls, callback


def _run(limiter: RetryingLimiter, callback: Any, endpoint: str) -> Any:
    data = {"chat_id": 7, "text": "答"}
    return asyncio.run(limiter.process_request(callback, (), {}, endpoint, data, None))


def test_a_message_that_timed_out_after_sending_is_not_sent_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    calls, callback = _flaky(httpx.ReadTimeout("read"))
    with pytest.raises(MaybeDelivered):
        _run(RetryingLimiter(base_delay=0.01), callback, "sendMessage")
    assert len(calls) == 1
    assert any("not sent again" in r.getMessage() and "7" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "cause",
    [httpx.ConnectTimeout("connect"), httpx.PoolTimeout("pool"), httpx.WriteTimeout("write")],
)
def test_a_message_that_never_left_is_retried(cause: Exception) -> None:
    calls, callback = _flaky(cause)
    assert _run(RetryingLimiter(base_delay=0.01), callback, "sendMessage") == {"message_id": 1}
    assert len(calls) == 2


def test_an_edit_that_timed_out_is_retried() -> None:
    calls, callback = _flaky(httpx.ReadTimeout("read"), failures=2)
    result = _run(RetryingLimiter(base_delay=0.01), callback, "editMessageText")
    assert result == {"message_id": 1} and len(calls) == 3


def test_only_calls_that_add_a_message_count_as_creating_one() -> None:
    assert creates_a_message("sendMessage") and creates_a_message("sendDocument")
    assert creates_a_message("copyMessage") and creates_a_message("forwardMessage")
    assert not creates_a_message("sendChatAction")
    assert not creates_a_message("editMessageText") and not creates_a_message("answerCallbackQuery")
