"""Generated messages through the real bot and core: a valid reply to each, the bot goes on.

Why: Telegram users send anything (markup characters, emoji, zero-width and bidi marks,
stray commands, walls of text), and Telegram rejects a whole message for one bad HTML
entity. Each generated private message goes through python-telegram-bot, polling the fake
Bot API, to the real core (hashing model, seed corpus); its reply must arrive (one
message, or several for a long answer) as HTML the strict checker accepts, that Telegram
did not reject, within Telegram's length limit, with buttons whose data fits 64 bytes.
Derandomized and without an example database, so a failure repeats.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from wenda.bot.app import build_application
from wenda.bot.splitting import MAX_MESSAGE_CHARS, utf16_len
from wenda.index.core import Wenda

from tests.bot.bot_harness import USER_ID, RunningBot, Updates, bot_settings
from tests.bot.bot_html_check import check_telegram_html
from tests.bot.fake_bot_api import BOT_USERNAME, FakeBotApi
from tests.conftest import reproducible

WORDS = "川渝两地住院费用直接结算的定点医疗机构有多少家是什么？，。、"
MARKUP = "<>&*_`[]()~#+-=|{}.!\"' \n\t"
ODD = "\u200b\u200d\u202e\u2066\ufeff\u00a0😀👨‍👩‍👧\U0001f1e8\U0001f1f3"
COMMANDS = ["/start", "/help", "/ask", "/status", "/reindex", "/nosuch", f"/ask@{BOT_USERNAME}"]

TEXT = (
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=80)
    | st.text(st.sampled_from(WORDS + MARKUP + ODD), min_size=1, max_size=120)
    | st.builds(
        lambda w, n: w * n,
        st.text(st.sampled_from(WORDS), min_size=1, max_size=9),
        st.integers(1, 400),
    )
)
MESSAGES = TEXT.filter(lambda t: t.strip() and not t.startswith("/")) | st.builds(
    lambda command, rest: f"{command} {rest}".rstrip(),
    st.sampled_from(COMMANDS),
    TEXT | st.just(""),
)


@pytest.fixture
def bot(tmp_path: Path, fake_api: FakeBotApi) -> Iterator[RunningBot]:
    settings = bot_settings(
        tmp_path, fake_api, reload_check_seconds=0.0, telegram_rate_per_minute=100_000
    )
    core = Wenda.open(settings, build_if_missing=True)
    try:
        with RunningBot(build_application(core.settings, core)) as running:
            yield running
    finally:
        core.close()


def test_any_private_message_gets_a_valid_reply(
    bot: RunningBot, fake_api: FakeBotApi, updates: Updates
) -> None:
    @reproducible(60, HealthCheck.filter_too_much)
    @given(text=MESSAGES)
    def check(text: str) -> None:
        before = len(fake_api.sent(USER_ID))
        updates.message(text)
        fake_api.wait_for(lambda: len(fake_api.sent(USER_ID)) > before, timeout=30)
        assert fake_api.rejected() == [], fake_api.describe()
        for params in fake_api.sent(USER_ID)[before:]:
            assert params.get("parse_mode") == "HTML"
            assert utf16_len(params["text"]) <= MAX_MESSAGE_CHARS
            assert check_telegram_html(params["text"]).strip()
            markup = params.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    assert len(button.get("callback_data", "").encode()) <= 64

    check()
