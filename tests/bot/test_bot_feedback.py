"""👍/👎 votes, follow-up questions and WENDA_WATCH in the bot.

The real ``Application`` polls the fake Bot API server; the core is the real ``Wenda`` with
the hashing embedder, the votes land in the real SQLite feedback store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wenda.bot.app import build_application
from wenda.bot.conversation import ALREADY_VOTED, THANKS
from wenda.bot.keyboards import FeedbackRequest, feedback_data, parse_callback
from wenda.bot.state import WATCHER_KEY, recent_questions, remember_question
from wenda.index.core import Wenda
from wenda.index.feedback import FeedbackStore

from tests.bot.bot_harness import USER_ID, RunningBot, Updates, bot_settings
from tests.bot.bot_html_check import check_telegram_html
from tests.bot.fake_bot_api import FakeBotApi

QUESTION = "川渝两地住院费用直接结算的定点医疗机构有多少家？"


def _buttons(params: dict[str, Any]) -> list[dict[str, Any]]:
    markup = params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


@pytest.fixture
def core(tmp_path: Path, fake_api: FakeBotApi) -> Iterator[Wenda]:
    wenda = Wenda.open(bot_settings(tmp_path, fake_api, reload_check_seconds=0.0))
    yield wenda
    wenda.close()


def test_vote_is_stored_once_and_the_buttons_go(
    core: Wenda, fake_api: FakeBotApi, updates: Updates
) -> None:
    with RunningBot(build_application(core.settings, core)):
        updates.message(QUESTION)
        fake_api.wait_for(lambda: len(fake_api.sent(USER_ID)) >= 1)
        reply = fake_api.sent(USER_ID)[0]
        votes = [b for b in _buttons(reply) if b["callback_data"].startswith("f:")]
        assert [b["text"] for b in votes] == ["👍 有用", "👎 没用"]
        message = fake_api.sent_messages(USER_ID)[0]
        down = next(b for b in votes if b["callback_data"].endswith(":down"))
        updates.press(down["callback_data"], message)
        fake_api.wait_for(lambda: len(fake_api.calls_of("editMessageReplyMarkup")) == 1)
        updates.press(down["callback_data"], message)  # a second press is not a second vote
        fake_api.wait_for(lambda: len(fake_api.calls_of("answerCallbackQuery")) == 2)
    toasts = [c.params.get("text") for c in fake_api.calls_of("answerCallbackQuery")]
    assert toasts == [THANKS, ALREADY_VOTED]
    edited = fake_api.calls_of("editMessageReplyMarkup")[0].params
    assert not any(b["callback_data"].startswith("f:") for b in _buttons(edited))
    assert any(b["text"].startswith("原文") for b in _buttons(edited))  # sources stay
    [record] = FeedbackStore.in_index_dir(core.settings.index_dir).records()
    answer = core.ask(QUESTION)
    assert record.vote == "down" and record.source == "bot"
    assert record.question == QUESTION and record.answer == answer.answer
    assert record.index_version == core.version and record.chunk_ids
    assert answer.passages[0].chunk_id in record.chunk_ids


def test_follow_up_uses_the_previous_question_of_the_chat(
    core: Wenda, fake_api: FakeBotApi, updates: Updates
) -> None:
    with RunningBot(build_application(core.settings, core)):
        updates.message(QUESTION)
        fake_api.wait_for(lambda: len(fake_api.sent(USER_ID)) >= 1)
        updates.message("那重庆呢？")
        fake_api.wait_for(lambda: len(fake_api.sent(USER_ID)) >= 2)
        updates.message("中欧班列（成渝）号今年1—4月开行了多少列？")  # stands alone
        fake_api.wait_for(lambda: len(fake_api.sent(USER_ID)) >= 3)
        other_chat = USER_ID + 1  # another chat has no history: the fragment stays as typed
        updates.message("那重庆呢？", chat_id=other_chat, user_id=other_chat)
        fake_api.wait_for(lambda: len(fake_api.sent(other_chat)) >= 1)
    first, second, third = (check_telegram_html(p["text"]) for p in fake_api.sent(USER_ID))
    assert "理解为：" not in first
    assert second.startswith("（理解为：重庆") and "住院" in second.split("）", 1)[0]
    assert "1887家" in second
    assert "理解为" not in third and "1936" in third
    assert "理解为" not in check_telegram_html(fake_api.sent(other_chat)[0]["text"])
    assert fake_api.rejected() == []


def test_watch_rebuilds_while_the_bot_runs(
    tmp_path: Path, fake_api: FakeBotApi, updates: Updates
) -> None:
    settings = bot_settings(tmp_path, fake_api, watch=True, watch_debounce_seconds=0.3)
    core = Wenda.open(settings)
    application = build_application(settings, core)
    watcher = application.bot_data[WATCHER_KEY]
    try:
        with RunningBot(application):
            assert watcher.ready.wait(10)
            version = core.version
            (settings.corpus_dir / "奉节.txt").write_text(
                "奉节脐橙\n奉节县的脐橙种植面积达到37.5万亩。", "utf-8"
            )
            fake_api.wait_for(lambda: core.version != version, timeout=60)
            updates.message("奉节县的脐橙种植面积有多少万亩？")
            fake_api.wait_for(lambda: len(fake_api.sent(USER_ID)) >= 1)
        assert watcher.builds_total == 1 and watcher.last_build.ok
        assert "37.5万亩" in check_telegram_html(fake_api.sent(USER_ID)[0]["text"])
    finally:
        watcher.stop()
        core.close()


def test_feedback_callback_data_round_trips_and_rejects_garbage() -> None:
    assert parse_callback(feedback_data("a1", "up")) == FeedbackRequest("a1", "up")
    for bad in ("f:a1:maybe", "f::up", "f:a1", "f:a1:up:x"):
        assert parse_callback(bad) is None, bad


def test_history_is_per_chat_and_expires() -> None:
    chat: dict[str, Any] = {}
    for i in range(7):
        remember_question(chat, f"问题{i}", now=1000.0 + i)
    assert recent_questions(chat, now=1010.0) == [f"问题{i}" for i in range(2, 7)]
    assert recent_questions(chat, now=1006.0 + 16 * 60) == []
    assert recent_questions({}, now=0.0) == []
