"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end bot tests.

Stdlib only (``http.server`` in a thread). It serves queued updates through
``getUpdates`` (honouring ``offset`` and a short long-poll ``timeout``), answers the
methods the bot calls with valid Bot API JSON, and records every request. Like the real
server it rejects messages over 4,096 characters and HTML that does not parse, so a bot
bug shows up as a failed request, not just a wrong assertion.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tests.bot.bot_html_check import HtmlError, check_telegram_html

BOT_ID = 999
BOT_USERNAME = "wenda_test_bot"
TOKEN = "123:ABC"
_JSON_FIELDS = {
    "reply_markup",
    "commands",
    "entities",
    "allowed_updates",
    "link_preview_options",
    "reply_parameters",
    "scope",
}
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "cache_time"}
_BOOL_FIELDS = {"show_alert", "drop_pending_updates", "disable_notification"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    result: Any = None


def _decode(form: dict[str, list[str]]) -> dict[str, Any]:
    """python-telegram-bot posts form fields whose non-string values are JSON-encoded."""
    params: dict[str, Any] = {}
    for key, values in form.items():
        value: Any = values[-1]
        if key in _JSON_FIELDS:
            value = json.loads(value)
        elif key in _INT_FIELDS:
            value = int(value) if value.lstrip("-").isdigit() else value
        elif key in _BOOL_FIELDS:
            value = value in ("true", "True", "1")
        params[key] = value
    return params


class FakeBotApi:
    """Start with :meth:`start`, feed :meth:`push_update`, inspect :attr:`calls`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.faults: dict[str, list[tuple[int, dict[str, Any]]]] = {}  # method → replies
        self.stalls: dict[str, list[float]] = {}  # method → seconds to hold the next answers
        self._cond = threading.Condition()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(10_000)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> FakeBotApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # --- feeding updates -------------------------------------------------------------------
    def push_update(self, payload: dict[str, Any]) -> int:
        """Queue an update (``{"message": ...}`` or ``{"callback_query": ...}``)."""
        with self._cond:
            update_id = next(self._update_ids)
            self.updates.append({"update_id": update_id, **payload})
            for part in ("message", "callback_query"):
                message = payload.get(part)
                if part == "callback_query" and message:
                    message = message.get("message")
                if message and "chat" in message:
                    self.chats[message["chat"]["id"]] = message["chat"]
            self._cond.notify_all()
        return update_id

    def inject(
        self, method: str, status: int, times: int = 1, retry_after: int | None = None
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error (429 needs retry_after)."""
        payload: dict[str, Any] = {"ok": False, "error_code": status}
        if status == 429:
            payload["description"] = f"Too Many Requests: retry after {retry_after}"
            payload["parameters"] = {"retry_after": retry_after or 1}
        else:
            payload["description"] = "Internal Server Error" if status >= 500 else "Error"
        with self._cond:
            self.faults.setdefault(method, []).extend([(status, payload)] * times)

    def stall(self, method: str, seconds: float, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``method`` but answer each ``seconds`` late
        (a message that reaches the chat while the bot's read times out)."""
        with self._cond:
            self.stalls.setdefault(method, []).extend([seconds] * times)

    # --- inspecting ------------------------------------------------------------------------
    def calls_of(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Parameters of every accepted sendMessage, optionally for one chat."""
        return [
            c.params
            for c in self.calls_of("sendMessage")
            if (chat_id is None or c.params.get("chat_id") == chat_id)
            and isinstance(c.result, dict)
            and "message_id" in c.result
        ]

    def sent_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """The Message objects the fake returned for accepted sendMessage calls."""
        return [
            c.result
            for c in self.calls_of("sendMessage")
            if isinstance(c.result, dict)
            and "message_id" in c.result
            and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    def rejected(self) -> list[Call]:
        """Calls the fake answered with an error (there should be none)."""
        return [c for c in self.calls if isinstance(c.result, dict) and c.result.get("ok") is False]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError("timed out waiting for the bot; calls: " + self.describe())

    def describe(self) -> str:
        return "\n".join(f"{c.method} {c.params}" for c in self.calls if c.method != "getUpdates")

    # --- the API ---------------------------------------------------------------------------
    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        chat = self.chats.get(chat_id, {"id": chat_id, "type": "private"})  # type: ignore[arg-type]
        message: dict[str, Any] = {
            "message_id": params.get("message_id") or next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "问答", "username": BOT_USERNAME},
            "text": params.get("text", ""),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    def _check_text(self, params: dict[str, Any]) -> str | None:
        text = params.get("text", "")
        if not text.strip():
            return "Bad Request: message text is empty"
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return "Bad Request: message is too long"
        if params.get("parse_mode") == "HTML":
            try:
                check_telegram_html(text)
            except HtmlError as exc:
                return f"Bad Request: can't parse entities: {exc}"
        markup = params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    return "Bad Request: BUTTON_DATA_INVALID"
        return None

    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        call = Call(method, params, time.monotonic())
        with self._cond:
            fault = self.faults.get(method, []).pop(0) if self.faults.get(method) else None
        status, payload = fault or self._answer(method, params)
        call.result = payload.get("result", payload)
        with self._cond:
            self.calls.append(call)
            delay = self.stalls.get(method, []).pop(0) if self.stalls.get(method) else 0.0
        time.sleep(delay)
        return status, payload

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "getMe":
            me = {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "问答",
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
            return 200, {"ok": True, "result": me}
        if method in ("sendMessage", "editMessageText"):
            error = self._check_text(params)
            if error:
                return 400, {"ok": False, "error_code": 400, "description": error}
            return 200, {"ok": True, "result": self._message(params)}
        if method == "editMessageReplyMarkup":
            return 200, {"ok": True, "result": self._message(params)}
        if method == "getMyCommands":
            return 200, {"ok": True, "result": []}
        # answerCallbackQuery, setMyCommands, deleteWebhook, sendChatAction, …
        return 200, {"ok": True, "result": True}

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 1.0)
        deadline = time.monotonic() + timeout
        with self._cond:
            self.calls.append(Call("getUpdates", params, time.monotonic()))
            while True:
                pending = [u for u in self.updates if u["update_id"] >= offset]
                remaining = deadline - time.monotonic()
                if pending or remaining <= 0:
                    return pending
                self._cond.wait(remaining)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                path = self.path.split("?", 1)[0]
                prefix = f"/bot{TOKEN}/"
                if not path.startswith(prefix):
                    self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                content_type = self.headers.get("Content-Type", "")
                if "json" in content_type:
                    params = json.loads(body or "{}")
                else:
                    params = _decode(parse_qs(body, keep_blank_values=True))
                status, payload = api.handle(path[len(prefix) :], params)
                self._reply(status, payload)

            do_GET = do_POST

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)  # the bot may drop a long poll when stopping

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
