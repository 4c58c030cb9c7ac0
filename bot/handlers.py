"""Telegram update handlers: questions in, cited answers out.

The core is CPU-bound, so every call into it runs in a worker thread
(``asyncio.to_thread``) and the event loop keeps polling meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ContextTypes, filters
from wenda.bot.conversation import resolve_in_chat, understood_note, vote
from wenda.bot.formatting import (
    ASK_USAGE,
    SHOWN_PASSAGES,
    format_answer,
    format_more,
    format_passage,
    help_html,
    passage_number,
    report_html,
    status_html,
)
from wenda.bot.keyboards import (
    FeedbackRequest,
    MoreRequest,
    PassageRequest,
    parse_callback,
    sources_keyboard,
    version_tag,
    with_feedback_row,
    without_more_button,
)
from wenda.bot.ratelimit import Verdict
from wenda.bot.state import (
    REINDEX_KEY,
    StoredAnswer,
    get_core,
    get_feedback,
    get_limiter,
    get_settings,
    recall_answer,
    remember_answer,
    remember_question,
)
from wenda.index.errors import (
    BuildInProgressError,
    IndexNotReadyError,
    InvalidQuestionError,
    QuestionTooLongError,
    WendaError,
)

logger = logging.getLogger(__name__)

ADMIN_ONLY = "抱歉，这个命令只对管理员开放。"
INDEX_NOT_READY = "索引还没有准备好，请稍后再试。"
EXPIRED_ANSWER = "这条回答已过期，请重新提问。"
EXPIRED_PASSAGE = "这段来源已过期（索引可能已更新），请重新提问。"
UNKNOWN_BUTTON = "这个按钮已失效。"
# Chunk ids are SQLite INTEGERs: anything outside signed 64 bits is forged (and would
# overflow the query); indexes and offsets beyond this are never produced by our buttons.
MAX_CHUNK_ID = 2**63 - 1
MAX_BUTTON_INDEX = 1000
_LEADING_PUNCT = " \t\n,，:：;；"


class _AddressedToBot(filters.MessageFilter):
    """Group messages meant for the bot: they @mention it or reply to one of its messages.

    A custom filter rather than ``filters.Mention``: the bot's username is only known after
    ``getMe``, i.e. after the handlers are registered.
    """

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == bot.id:
            return True
        return mentions_bot(message, bot.username, bot.id)


ADDRESSED_TO_BOT = _AddressedToBot(name="AddressedToBot")


def mentions_bot(message: Message, username: str | None, bot_id: int) -> bool:
    for entity, text in message.parse_entities(
        [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
    ).items():
        if entity.user is not None and entity.user.id == bot_id:
            return True
        if username and text.lstrip("@").lower() == username.lower():
            return True
    return False


def strip_mention(text: str, username: str | None) -> str:
    """The question without ``@botname`` and the punctuation people put after it."""
    if username:
        text = re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE)
    return text.strip(_LEADING_PUNCT)


async def _reply_parts(
    message: Message,
    parts: Sequence[str],
    markup: InlineKeyboardMarkup | None = None,
    *,
    quote: bool = False,
) -> None:
    """Send HTML parts in order; the keyboard goes under the last one."""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        await message.reply_html(
            part, reply_markup=markup if last else None, do_quote=quote and i == 0
        )


async def _send_parts(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    parts: Sequence[str],
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        await context.bot.send_message(
            chat_id, part, parse_mode="HTML", reply_markup=markup if last else None
        )


async def answer_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: str
) -> None:
    """Rate-limit, ask the core in a thread, reply with the answer and its citations."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    question = question.strip()
    quote = chat.type != ChatType.PRIVATE
    if not question:
        await message.reply_text(ASK_USAGE, do_quote=quote)
        return
    settings = get_settings(context.bot_data)
    limiter = get_limiter(context.bot_data)
    verdict = limiter.check(chat.id)
    if verdict is Verdict.DROP:
        logger.debug("rate limit: dropped a question in chat %s", chat.id)
        return
    if verdict is Verdict.WARN:
        wait = max(1, math.ceil(limiter.retry_after(chat.id)))
        await message.reply_text(
            f"提问太频繁了：每分钟最多 {settings.telegram_rate_per_minute} 个问题，"
            f"请约 {wait} 秒后再问。",
            do_quote=quote,
        )
        return
    core = get_core(context.bot_data)
    resolved = await resolve_in_chat(context.chat_data, question)  # "那重庆呢？" in context
    try:
        answer = await asyncio.to_thread(core.ask, resolved)
    except QuestionTooLongError as exc:
        await message.reply_text(f"问题太长了，请控制在 {exc.limit} 字以内。", do_quote=quote)
        return
    except InvalidQuestionError:
        await message.reply_text(ASK_USAGE, do_quote=quote)
        return
    except IndexNotReadyError:
        await message.reply_text(INDEX_NOT_READY, do_quote=quote)
        return
    chat_data = context.chat_data if context.chat_data is not None else {}
    remember_question(chat_data, question)
    key = remember_answer(chat_data, answer, asked=question)
    version = answer.index_version or core.version
    markup = sources_keyboard(key, answer.passages, version, count=SHOWN_PASSAGES)
    if get_feedback(context.bot_data) is not None:
        markup = with_feedback_row(markup, key)
    parts = understood_note(format_answer(answer), question, resolved)
    await _reply_parts(message, parts, markup, quote=quote)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help: what the bot knows and how to ask."""
    if update.effective_message is None:
        return
    documents = await asyncio.to_thread(get_core(context.bot_data).documents)
    await _reply_parts(update.effective_message, help_html(documents, context.bot.username))


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask <问题> (works everywhere; the way to ask in groups)."""
    message = update.effective_message
    if message is None:
        return
    pieces = (message.text or "").split(maxsplit=1)
    question = pieces[1] if len(pieces) > 1 else ""
    await answer_question(update, context, strip_mention(question, context.bot.username))


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a private chat every text message is a question."""
    if update.effective_message is not None:
        await answer_question(update, context, update.effective_message.text or "")


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Private chats only: point to /help instead of staying silent."""
    if update.effective_message is not None:
        await update.effective_message.reply_text("没有这个命令。发送 /help 查看用法，或直接提问。")


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group message that mentions the bot or replies to it."""
    if update.effective_message is not None:
        text = strip_mention(update.effective_message.text or "", context.bot.username)
        await answer_question(update, context, text)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "更多来源" and "原文 [n]" presses. The query is always answered."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None:
        return
    request = parse_callback(query.data)
    if chat is None or request is None or not _plausible(request):
        await query.answer(UNKNOWN_BUTTON)
        return
    stored = recall_answer(context.chat_data, request.key)
    if isinstance(request, FeedbackRequest):
        await vote(update, context, request, stored)
        return
    if isinstance(request, MoreRequest):
        if stored is None:
            await query.answer(EXPIRED_ANSWER, show_alert=True)
            return
        await query.answer()
        message = query.message
        if isinstance(message, Message) and message.reply_markup is not None:
            try:
                await query.edit_message_reply_markup(without_more_button(message.reply_markup))
            except BadRequest as exc:  # e.g. "message is not modified" on a double press
                logger.debug("could not drop the more button: %s", exc)
        parts = format_more(stored.question, stored.passages, request.offset, stored.answer)
        markup = sources_keyboard(request.key, stored.passages, stored.version, request.offset)
        await _send_parts(context, chat.id, parts, markup)
        return
    await _show_passage(update, context, request, stored)


def _plausible(request: MoreRequest | PassageRequest | FeedbackRequest) -> bool:
    """Reject forged callback data that parses but cannot come from our own buttons."""
    if isinstance(request, MoreRequest):
        return 0 <= request.offset <= MAX_BUTTON_INDEX
    if isinstance(request, PassageRequest):
        return 0 <= request.index <= MAX_BUTTON_INDEX and 0 <= request.chunk_id <= MAX_CHUNK_ID
    return True


async def _show_passage(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    request: PassageRequest,
    stored: StoredAnswer | None,
) -> None:
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    answer_text = None
    passage = None
    if stored is not None and 0 <= request.index < len(stored.passages):
        passage, answer_text = stored.passages[request.index], stored.answer
    else:
        core = get_core(context.bot_data)
        if request.chunk_id >= 0 and request.vtag == version_tag(core.version):
            passage = await asyncio.to_thread(core.passage_by_chunk_id, request.chunk_id)
    if passage is None:
        await query.answer(EXPIRED_PASSAGE, show_alert=True)
        return
    await query.answer()
    parts = format_passage(passage, passage_number(passage, request.index), answer_text)
    await _send_parts(context, chat.id, parts)


def is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return user is not None and user.id in get_settings(context.bot_data).telegram_admin_ids


async def _admin_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Message | None:
    """The command's message if an admin sent it; otherwise refuse politely and return None."""
    message = update.effective_message
    if message is None:
        return None
    if not is_admin(update, context):
        await message.reply_text(ADMIN_ONLY)
        return None
    return message


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/status (admins): documents, chunks, index version, model."""
    message = await _admin_message(update, context)
    if message is None:
        return
    core = get_core(context.bot_data)
    await asyncio.to_thread(core.refresh)
    await message.reply_html(status_html(await asyncio.to_thread(core.status)))


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (admins): incremental rebuild in the background; replies when done."""
    message = await _admin_message(update, context)
    if message is None:
        return
    if context.bot_data.get(REINDEX_KEY):
        await message.reply_text("索引正在更新中，请稍候。")
        return
    context.bot_data[REINDEX_KEY] = True
    await message.reply_text("开始更新索引，完成后会通知你。")
    # A background task, so questions keep being answered while the index builds.
    context.application.create_task(_run_reindex(message, context), update=update)


async def _run_reindex(message: Message, context: ContextTypes.DEFAULT_TYPE) -> None:
    core = get_core(context.bot_data)
    try:
        report = await asyncio.to_thread(core.reindex)
    except BuildInProgressError:
        await message.reply_text("另一个索引任务正在进行，请稍后再试。")
        return
    except WendaError as exc:  # disk full, read-only folder, …: say why, the old index serves
        logger.error("reindex failed: %s", exc.message)
        await message.reply_text(f"索引更新失败：{exc.message}")
        return
    finally:
        context.bot_data[REINDEX_KEY] = False
    logger.info("reindex done: version %s", report.version)
    await message.reply_html(report_html(report))
