"""Inline buttons under answers and the compact callback data behind them.

Telegram allows 1–64 bytes of callback data. Two kinds are used:

* ``m:<key>:<offset>`` – "更多来源": the next citations of the remembered answer ``key``;
* ``p:<key>:<index>:<chunk_id>:<vtag>`` – full text of one cited passage. When the answer
  is no longer remembered (bot restarted) the chunk id still finds the passage, provided
  the index version tag ``vtag`` still matches;
* ``f:<key>:up`` / ``f:<key>:down`` – a 👍/👎 vote on the remembered answer ``key``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from wenda.bot.formatting import SHOWN_PASSAGES, passage_number
from wenda.index.models import Passage

MAX_CALLBACK_BYTES = 64
MORE_PREFIX = "m"
PASSAGE_PREFIX = "p"
FEEDBACK_PREFIX = "f"
VOTE_LABELS = {"up": "👍 有用", "down": "👎 没用"}


def version_tag(version: str) -> str:
    """8 hex characters identifying an index version."""
    return hashlib.blake2s(version.encode("utf-8"), digest_size=4).hexdigest()


@dataclass(frozen=True)
class MoreRequest:
    key: str
    offset: int


@dataclass(frozen=True)
class PassageRequest:
    key: str
    index: int
    chunk_id: int
    vtag: str


@dataclass(frozen=True)
class FeedbackRequest:
    key: str
    vote: str  # "up" or "down"


def _checked(data: str) -> str:
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:  # cannot happen with our short keys
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def more_data(key: str, offset: int) -> str:
    return _checked(f"{MORE_PREFIX}:{key}:{offset}")


def passage_data(key: str, index: int, chunk_id: int, version: str) -> str:
    return _checked(f"{PASSAGE_PREFIX}:{key}:{index}:{chunk_id}:{version_tag(version)}")


def feedback_data(key: str, vote: str) -> str:
    return _checked(f"{FEEDBACK_PREFIX}:{key}:{vote}")


def parse_callback(data: str | None) -> MoreRequest | PassageRequest | FeedbackRequest | None:
    """Decode our callback data; None for anything malformed or foreign."""
    parts = (data or "").split(":")
    if parts[0] == FEEDBACK_PREFIX and len(parts) == 3 and parts[2] in VOTE_LABELS and parts[1]:
        return FeedbackRequest(parts[1], parts[2])
    try:
        if parts[0] == MORE_PREFIX and len(parts) == 3:
            return MoreRequest(parts[1], int(parts[2]))
        if parts[0] == PASSAGE_PREFIX and len(parts) == 5:
            return PassageRequest(parts[1], int(parts[2]), int(parts[3]), parts[4])
    except ValueError:
        return None
    return None


def sources_keyboard(
    key: str,
    passages: Sequence[Passage],
    version: str,
    offset: int = 0,
    count: int = SHOWN_PASSAGES,
) -> InlineKeyboardMarkup | None:
    """ "原文 [n]" for passages ``offset .. offset+count``, then "更多来源" if any remain."""
    batch = range(offset, min(offset + count, len(passages)))
    rows: list[list[InlineKeyboardButton]] = []
    if batch:
        rows.append(
            [
                InlineKeyboardButton(
                    f"原文 [{passage_number(passages[i], i)}]",
                    callback_data=passage_data(key, i, passages[i].chunk_id, version),
                )
                for i in batch
            ]
        )
    remaining = len(passages) - (offset + count)
    if remaining > 0:
        rows.append(
            [
                InlineKeyboardButton(
                    f"更多来源（{remaining}）", callback_data=more_data(key, offset + count)
                )
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None


def without_more_button(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The same keyboard minus its "更多来源" row (once pressed, it has done its job)."""
    if markup is None:
        return None
    rows = [
        list(row)
        for row in markup.inline_keyboard
        if not any(str(b.callback_data or "").startswith(f"{MORE_PREFIX}:") for b in row)
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def with_feedback_row(markup: InlineKeyboardMarkup | None, key: str) -> InlineKeyboardMarkup:
    """The keyboard plus a 👍/👎 row for the answer ``key``."""
    rows = [list(row) for row in markup.inline_keyboard] if markup is not None else []
    rows.append(
        [
            InlineKeyboardButton(label, callback_data=feedback_data(key, vote))
            for vote, label in VOTE_LABELS.items()
        ]
    )
    return InlineKeyboardMarkup(rows)


def without_feedback_row(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The keyboard minus its 👍/👎 row (after a vote)."""
    if markup is None:
        return None
    prefix = f"{FEEDBACK_PREFIX}:"
    rows = [
        list(row)
        for row in markup.inline_keyboard
        if not any(str(b.callback_data or "").startswith(prefix) for b in row)
    ]
    return InlineKeyboardMarkup(rows) if rows else None
