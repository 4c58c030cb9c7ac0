"""What the bot keeps between updates: the core in ``bot_data``, recent answers in ``chat_data``.

Buttons under an answer refer to it by a short per-chat key, so callback data stays far
below Telegram's 64 bytes however long the question or passages are.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from wenda.bot.ratelimit import RateLimiter
from wenda.bot.settings import BotSettings
from wenda.index.interface import QACore
from wenda.index.models import Answer, Passage

CORE_KEY = "core"
SETTINGS_KEY = "settings"
LIMITER_KEY = "rate_limiter"
REINDEX_KEY = "reindex_running"
ANSWERS_KEY = "answers"
SEQ_KEY = "answer_seq"
MAX_REMEMBERED_ANSWERS = 64


Core = QACore  # the core interface, defined once in index/interface.py


def get_core(bot_data: MutableMapping[str, Any]) -> Core:
    return bot_data[CORE_KEY]


def get_settings(bot_data: MutableMapping[str, Any]) -> BotSettings:
    return bot_data[SETTINGS_KEY]


def get_limiter(bot_data: MutableMapping[str, Any]) -> RateLimiter:
    return bot_data[LIMITER_KEY]


@dataclass(frozen=True)
class StoredAnswer:
    """Enough of an answer to serve its buttons later."""

    question: str
    answer: str | None  # the answer text to bold in passages; None when not answerable
    passages: tuple[Passage, ...]
    version: str


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def remember_answer(chat_data: MutableMapping[str, Any], answer: Answer) -> str:
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
    )
    while len(answers) > MAX_REMEMBERED_ANSWERS:
        answers.popitem(last=False)
    return key


def recall_answer(chat_data: MutableMapping[str, Any] | None, key: str) -> StoredAnswer | None:
    if not chat_data:
        return None
    answers = chat_data.get(ANSWERS_KEY)
    return answers.get(key) if answers else None
