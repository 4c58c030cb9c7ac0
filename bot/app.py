"""Build the python-telegram-bot ``Application`` around an in-process core.

The bot calls ``Wenda`` directly (never our HTTP API). Handlers find it in ``bot_data``;
startup work that needs the network (commands menu) happens in ``post_init``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from wenda.bot import handlers
from wenda.bot.ratelimit import RateLimiter
from wenda.bot.retry import MaybeDelivered, RetryingLimiter
from wenda.bot.settings import BotSettings
from wenda.bot.state import (
    CORE_KEY,
    FEEDBACK_KEY,
    LIMITER_KEY,
    SETTINGS_KEY,
    WATCHER_KEY,
    Core,
    get_core,
)
from wenda.index.feedback import FeedbackStore
from wenda.index.settings import Settings
from wenda.index.watch import corpus_watcher

logger = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("ask", "提问，例如 /ask 川渝两地共建了多少个合作平台？"),
    BotCommand("help", "使用说明和已收录的资料"),
    BotCommand("start", "开始使用"),
    BotCommand("status", "索引状态（管理员）"),
    BotCommand("reindex", "更新索引（管理员）"),
]
SORRY = "抱歉，处理时出了点问题，请稍后再试。"


def api_urls(base: str) -> tuple[str, str]:
    """``(base_url, base_file_url)`` for a self-hosted Bot API server.

    Accepts ``http://host:8081`` or ``http://host:8081/bot`` (Telegram's own layout is
    ``…/bot<token>/method`` and ``…/file/bot<token>/path``).
    """
    base = base.rstrip("/")
    if "{token}" in base:  # python-telegram-bot formats the token in itself
        return base, base.replace("/bot{token}", "/file/bot{token}")
    root = base.removesuffix("/bot")
    return f"{root}/bot", f"{root}/file/bot"


async def post_init(application: Application) -> None:
    """Runs once the bot knows who it is: publish the command menu, log what it serves."""
    core = get_core(application.bot_data)
    try:
        await application.bot.set_my_commands(COMMANDS)
    except TelegramError as exc:  # a menu is nice to have; never a reason not to start
        logger.warning("could not set the bot commands: %s", exc)
    watcher = application.bot_data.get(WATCHER_KEY)  # WENDA_WATCH=1: rebuild on changes
    if watcher is not None:
        watcher.start()
    documents = await asyncio.to_thread(core.documents)
    logger.info(
        "@%s serves %d documents (index version %s)",
        application.bot.username,
        len(documents),
        core.version,
    )


async def post_shutdown(application: Application) -> None:
    watcher = application.bot_data.get(WATCHER_KEY)
    if watcher is not None:
        await asyncio.to_thread(watcher.stop)


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error and tell the user politely; a failing question never stops the bot."""
    if isinstance(context.error, MaybeDelivered):  # the reply may be there: no apology
        return  # the limiter has logged it
    logger.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    if update.callback_query is not None:  # a toast is enough for a button press
        with contextlib.suppress(TelegramError):  # already answered, or too old
            await update.callback_query.answer(SORRY, show_alert=True)
        return
    message = update.effective_message
    if message is not None:
        try:
            await message.reply_text(SORRY)
        except TelegramError as exc:
            logger.warning("could not send the apology: %s", exc)


def build_application(settings: Settings, core: Core) -> Application:
    """The bot, ready for ``run_polling`` (or initialize/start/updater in tests)."""
    settings = BotSettings.from_core(settings)
    if not settings.telegram_bot_token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .read_timeout(settings.telegram_read_timeout)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .rate_limiter(RetryingLimiter())  # 429 retry_after, 5xx/network backoff, losses logged
    )
    if settings.telegram_api_base_url:
        base_url, file_url = api_urls(settings.telegram_api_base_url)
        builder = builder.base_url(base_url).base_file_url(file_url)
    application = builder.build()
    application.bot_data[CORE_KEY] = core
    application.bot_data[SETTINGS_KEY] = settings
    application.bot_data[LIMITER_KEY] = RateLimiter(settings.telegram_rate_per_minute)
    # 👍/👎 votes live next to the index versions, so they survive rebuilds.
    application.bot_data[FEEDBACK_KEY] = FeedbackStore.in_index_dir(settings.index_dir)
    application.bot_data[WATCHER_KEY] = corpus_watcher(settings, lambda: core)

    new_messages = filters.UpdateType.MESSAGE
    questions = filters.TEXT & ~filters.COMMAND & new_messages
    application.add_handler(CommandHandler(["start", "help"], handlers.start))
    application.add_handler(CommandHandler("ask", handlers.ask_command, filters=new_messages))
    application.add_handler(CommandHandler("status", handlers.status))
    application.add_handler(CommandHandler("reindex", handlers.reindex))
    application.add_handler(
        MessageHandler(questions & filters.ChatType.PRIVATE, handlers.private_text)
    )
    application.add_handler(
        MessageHandler(
            filters.COMMAND & filters.ChatType.PRIVATE & new_messages, handlers.unknown_command
        )
    )
    application.add_handler(
        MessageHandler(
            questions & filters.ChatType.GROUPS & handlers.ADDRESSED_TO_BOT,
            handlers.group_text,
        )
    )
    # One handler for every button: stale or foreign data still gets its query answered.
    application.add_handler(CallbackQueryHandler(handlers.button))
    application.add_error_handler(error_handler)
    return application
