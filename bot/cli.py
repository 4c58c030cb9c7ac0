"""``wenda bot``: run the Telegram bot with long polling.

Registered through the ``wenda.commands`` entry point. Telegram and the core are imported
inside :func:`run`, so other ``wenda`` commands never pay for them.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from typing import Any

from wenda.index.settings import Settings

NO_TOKEN = (
    "wenda bot: 请设置环境变量 TELEGRAM_BOT_TOKEN（向 @BotFather 申请的机器人令牌）"
    " / set TELEGRAM_BOT_TOKEN"
)


def register(subparsers: Any) -> None:
    """Add the ``bot`` sub-command to the core CLI's argparse subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bot",
        help="运行 Telegram 机器人（长轮询）",
        description=(
            "在 Telegram 中提问、得到带出处的回答。需要 TELEGRAM_BOT_TOKEN；"
            "可选 TELEGRAM_API_BASE_URL（自建 Bot API 服务器）、TELEGRAM_ADMIN_IDS（如 1,2）。"
        ),
    )
    parser.add_argument(
        "--drop-pending-updates",
        action="store_true",
        help="启动时丢弃离线期间积压的消息",
    )
    parser.set_defaults(func=run)


class _QuietBootstrap(logging.Filter):
    """Drop python-telegram-bot's traceback when start-up fails (bad token, no network).

    The error is re-raised to :func:`run`, which prints one clear line instead; failures
    after start-up still log as usual.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (args and "Bootstrap" in str(args[0]) and record.levelno >= logging.ERROR)


def _fail(message: str, code: int) -> int:
    print(f"wenda bot: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Start polling until interrupted. 2 = not configured, 1 = could not start."""
    from wenda.bot.settings import BotSettings

    settings = BotSettings.from_core(settings)
    if not settings.telegram_bot_token:
        print(NO_TOKEN, file=sys.stderr)
        return 2

    # The core CLI may have configured logging (WARNING) already; the bot's own
    # start-up and error lines are worth seeing on a long-running process anyway.
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if logging.getLogger("bot").level == logging.NOTSET:
        logging.getLogger("bot").setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per getUpdates otherwise
    logging.getLogger("telegram.ext").addFilter(_QuietBootstrap())

    from telegram import Update
    from telegram.error import InvalidToken, TelegramError
    from wenda.bot.app import build_application
    from wenda.index.errors import StoreUnavailableError
    from wenda.index.startup import open_when_ready

    try:
        if settings.store != "local":  # a remote index backend must answer before we start
            from wenda.index.store.base import open_store

            open_store(settings).close()
        # Without a usable index the bot waits (logging why) and starts as soon as
        # `wenda index` or `wenda rollback` publishes a good version.
        core = open_when_ready(settings, threading.Event())
    except StoreUnavailableError as exc:  # Milvus unreachable: like a missing setting
        return _fail(exc.message, 2)
    except KeyboardInterrupt:
        return 130
    if core is None:  # only when stopped, which nothing does here
        return _fail("索引不可用 / no usable index", 1)
    application = build_application(settings, core)
    try:
        application.run_polling(
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=bool(getattr(args, "drop_pending_updates", False)),
        )
    except InvalidToken:
        return _fail("Telegram 拒绝了这个 TELEGRAM_BOT_TOKEN，请检查令牌。", 2)
    except TelegramError as exc:
        return _fail(f"无法连接 Telegram Bot API：{exc}", 1)
    return 0
