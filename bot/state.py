"""What the bot keeps between updates: the core in ``bot_data``; per chat, in ``chat_data``,
the recent answers (for their buttons and 👍/👎 votes) and the recent questions (so that a
follow-up such as "那重庆呢？" is resolved against the previous one).

Buttons under an answer refer to it by a short per-chat key, so callback data stays far
below Telegram's 64 bytes however long the question or passages are.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from wenda.bot.ratelimit import RateLimiter
from wenda.bot.settings import BotSettings
from wenda.index.feedback import FeedbackStore, cited_chunk_ids
from wenda.index.interface import QACore
from wenda.index.models import Answer, Passage

CORE_KEY = "core"
SETTINGS_KEY = "settings"
LIMITER_KEY = "rate_limiter"
REINDEX_KEY = "reindex_running"
ANSWERS_KEY = "answers"
SEQ_KEY = "answer_seq"
FEEDBACK_KEY = "feedback"
WATCHER_KEY = "watcher"
HISTORY_KEY = "questions"
VOTED_KEY = "voted"
MAX_REMEMBERED_ANSWERS = 64
MAX_HISTORY = 5  # earlier questions a follow-up may build on
FOLLOWUP_WINDOW_SECONDS = 15 * 60  # a question after a longer pause starts a new conversation


Core = QACore  # the core interface, defined once in index/interface.py


def get_core(bot_data: MutableMapping[str, Any]) -> Core:
    return bot_data[CORE_KEY]


def get_settings(bot_data: MutableMapping[str, Any]) -> BotSettings:
    return bot_data[SETTINGS_KEY]


def get_limiter(bot_data: MutableMapping[str, Any]) -> RateLimiter:
    return bot_data[LIMITER_KEY]


def get_feedback(bot_data: MutableMapping[str, Any]) -> FeedbackStore | None:
    return bot_data.get(FEEDBACK_KEY)


def recent_questions(
    chat_data: MutableMapping[str, Any] | None, now: float | None = None
) -> list[str]:
    """The chat's earlier questions (oldest first), empty after a long pause."""
    if not chat_data:
        return []
    turns: list[tuple[float, str]] = chat_data.get(HISTORY_KEY) or []
    if not turns or (now or time.time()) - turns[-1][0] > FOLLOWUP_WINDOW_SECONDS:
        return []
    return [q for _, q in turns]


def remember_question(
    chat_data: MutableMapping[str, Any], question: str, now: float | None = None
) -> None:
    """Keep the question as typed; the follow-up rewriter resolves the chain itself."""
    turns = recent_questions(chat_data, now)
    stamped = [(now or time.time(), q) for q in turns[-(MAX_HISTORY - 1) :]]
    chat_data[HISTORY_KEY] = [*stamped, (now or time.time(), question)]


@dataclass(frozen=True)
class StoredAnswer:
    """Enough of an answer to serve its buttons later."""

    question: str  # the stand-alone question the core answered
    answer: str | None  # the answer text to bold in passages; None when not answerable
    passages: tuple[Passage, ...]
    version: str
    asked: str = ""  # what the user typed (differs from ``question`` for a follow-up)
    text: str = ""  # the reply as shown, refusals included (kept with a vote)
    cited: tuple[int, ...] = ()  # chunk ids the answer cites
    answerable: bool = False


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def remember_answer(
    chat_data: MutableMapping[str, Any], answer: Answer, asked: str | None = None
) -> str:
    """Keep ``answer`` for its buttons; returns its short key. Old answers are forgotten."""
    seq = int(chat_data.get(SEQ_KEY, 0)) + 1
    chat_data[SEQ_KEY] = seq
    answers: OrderedDict[str, StoredAnswer] = chat_data.setdefault(ANSWERS_KEY, OrderedDict())
    key = _base36(seq)
    answers[key] = StoredAnswer(
        question=answer.question,
        answer=answer.answer if answer.answerable else None,
        passages=tuple(answer.passages),
        version=answer.index_version,
        asked=asked or answer.question,
        text=answer.answer,
        cited=tuple(cited_chunk_ids(answer)),
        answerable=answer.answerable,
    )
    while len(answers) > MAX_REMEMBERED_ANSWERS:
        answers.popitem(last=False)
    return key


def recall_answer(chat_data: MutableMapping[str, Any] | None, key: str) -> StoredAnswer | None:
    if not chat_data:
        return None
    answers = chat_data.get(ANSWERS_KEY)
    return answers.get(key) if answers else None
