"""A chat as a conversation: follow-up questions resolved in context, 👍/👎 on answers.

Kept apart from the other handlers so they stay about asking and showing; ``handlers``
calls :func:`resolve_in_chat` before asking, :func:`understood_note` when replying and
:func:`vote` for the vote buttons.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import MutableMapping
from typing import Any

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes
from wenda.bot.keyboards import FeedbackRequest, without_feedback_row
from wenda.bot.splitting import MAX_MESSAGE_CHARS
from wenda.bot.state import VOTED_KEY, StoredAnswer, get_feedback, recent_questions
from wenda.index.query.followup import resolve_followup
from wenda.index.store.lexical import ChineseTokenizer

logger = logging.getLogger(__name__)

THANKS = "谢谢你的反馈！"
ALREADY_VOTED = "已经收到你对这条回答的反馈。"
FEEDBACK_OFF = "暂时无法记录反馈。"
EXPIRED_VOTE = "这条回答已过期，请重新提问。"
_TOKENIZER = ChineseTokenizer()  # a thin wrapper; jieba's dictionary loads on first use


async def resolve_in_chat(chat_data: MutableMapping[str, Any] | None, question: str) -> str:
    """The stand-alone form of ``question`` given the chat's recent questions.

    "那重庆呢？" after a question about 川渝 becomes that question about 重庆; a question
    that stands on its own comes back unchanged.
    """
    history = recent_questions(chat_data)
    if not history:
        return question
    return await asyncio.to_thread(resolve_followup, history, question, _TOKENIZER)


def understood_note(parts: list[str], question: str, resolved: str) -> list[str]:
    """Start the reply with "（理解为：…）" when the question was rewritten (and it fits)."""
    if resolved == question:
        return parts
    note = f"<i>（理解为：{html.escape(resolved)}）</i>\n"
    if len(note) + len(parts[0]) > MAX_MESSAGE_CHARS:
        return parts
    return [note + parts[0], *parts[1:]]


async def vote(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    request: FeedbackRequest,
    stored: StoredAnswer | None,
) -> None:
    """👍/👎: store the vote once per answer, then drop the vote buttons."""
    query = update.callback_query
    assert query is not None
    store = get_feedback(context.bot_data)
    if store is None:
        await query.answer(FEEDBACK_OFF)
        return
    if stored is None or context.chat_data is None:
        await query.answer(EXPIRED_VOTE, show_alert=True)
        return
    voted: set[str] = context.chat_data.setdefault(VOTED_KEY, set())
    if request.key in voted:
        await query.answer(ALREADY_VOTED)
        return
    voted.add(request.key)
    await asyncio.to_thread(
        store.add,
        request.vote,
        question=stored.asked or stored.question,
        answer=stored.text,
        chunk_ids=stored.cited,
        index_version=stored.version,
        source="bot",
        resolved_question=stored.question,
        answerable=stored.answerable,
    )
    await query.answer(THANKS)
    message = query.message
    if isinstance(message, Message) and message.reply_markup is not None:
        try:
            await query.edit_message_reply_markup(without_feedback_row(message.reply_markup))
        except BadRequest as exc:
            logger.debug("could not drop the vote buttons: %s", exc)
