"""The bot against a flaky Bot API (429, 5xx) and forged callbacks (issue 10 item 11).

The real ``Application`` polls the local fake Bot API server, which injects error replies;
the forged-callback test runs over the real core (SQLite chunk records).
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from wenda.bot.app import build_application
from wenda.bot.keyboards import passage_data, version_tag
from wenda.index.core import Wenda

from tests.bot.bot_harness import (
    SEED_CORPUS,
    USER_ID,
    FakeCore,
    RunningBot,
    Updates,
    bot_settings,
)
from tests.bot.fake_bot_api import TOKEN, FakeBotApi

REPO = Path(__file__).resolve().parents[2]
QUESTION = "川渝两地住院费用直接结算的定点医疗机构有多少家？"


def _send_attempts(api: FakeBotApi) -> list[tuple[float, object]]:
    return [(c.at, c.result) for c in api.calls_of("sendMessage")]


def test_429_waits_retry_after_then_delivers(
    running: RunningBot, fake_api: FakeBotApi, updates: Updates
) -> None:
    fake_api.inject("sendMessage", 429, times=2, retry_after=1)
    updates.message(QUESTION)
    fake_api.wait_for(lambda: len(fake_api.sent(USER_ID)) == 1, timeout=30)
    attempts = _send_attempts(fake_api)
    assert len(attempts) == 3  # two refused, the third delivered
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(attempts)]
    assert all(gap >= 0.9 for gap in gaps), gaps  # honoured retry_after = 1 s


def test_transient_5xx_is_retried_with_backoff(
    running: RunningBot, fake_api: FakeBotApi, updates: Updates
) -> None:
    fake_api.inject("sendMessage", 500, times=1)
    fake_api.inject("sendMessage", 502, times=1)
    updates.message(QUESTION)
    fake_api.wait_for(lambda: len(fake_api.sent(USER_ID)) == 1, timeout=30)
    assert len(_send_attempts(fake_api)) == 3
    assert "答" in fake_api.sent(USER_ID)[0]["text"]


def test_a_reply_that_cannot_be_delivered_is_logged_not_dropped(
    running: RunningBot,
    fake_api: FakeBotApi,
    updates: Updates,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    fake_api.inject("sendMessage", 500, times=5)  # every attempt of the answer fails
    updates.message(QUESTION)

    def logged() -> bool:
        return any("not delivered" in r.getMessage() for r in caplog.records)

    fake_api.wait_for(logged, timeout=60)
    lost = [r for r in caplog.records if "not delivered" in r.getMessage()]
    assert lost[0].levelno == logging.ERROR and str(USER_ID) in lost[0].getMessage()
    # the user still hears something: the apology goes out once the API recovers
    fake_api.wait_for(lambda: len(fake_api.sent(USER_ID)) == 1, timeout=30)
    assert "抱歉" in fake_api.sent(USER_ID)[0]["text"]


def test_a_reply_whose_answer_times_out_reaches_the_user_once(
    tmp_path: Path,
    fake_api: FakeBotApi,
    fake_core: FakeCore,
    updates: Updates,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The fake API delivers the message but answers after the bot's read timeout."""
    caplog.set_level(logging.WARNING)
    settings = bot_settings(tmp_path, fake_api, telegram_read_timeout=0.5)
    fake_api.stall("sendMessage", 2.0)
    with RunningBot(build_application(settings, fake_core)):
        updates.message(QUESTION)

        def warned() -> bool:
            return any("not sent again" in r.getMessage() for r in caplog.records)

        fake_api.wait_for(warned, timeout=30)
        updates.message("第二个问题：川渝通办第二批有多少项？")  # the bot goes on answering
        fake_api.wait_for(lambda: len(fake_api.sent(USER_ID)) == 2, timeout=30)
    texts = [m["text"] for m in fake_api.sent(USER_ID)]
    assert len(_send_attempts(fake_api)) == 2  # the timed-out reply was never re-sent
    assert not any("抱歉" in t for t in texts)  # and no apology for a reply that arrived


@pytest.fixture
def real_core(tmp_path: Path, fake_api: FakeBotApi) -> Iterator[Wenda]:
    core = Wenda.open(bot_settings(tmp_path, fake_api), build_if_missing=True)
    yield core
    core.close()


def test_forged_callback_data_gets_a_polite_answer(
    tmp_path: Path,
    fake_api: FakeBotApi,
    updates: Updates,
    real_core: Wenda,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)
    settings = bot_settings(tmp_path, fake_api)
    message = {
        "message_id": 7,
        "date": 0,
        "chat": {"id": USER_ID, "type": "private"},
        "text": "旧消息",
    }
    vtag = version_tag(real_core.version)
    forged = [
        f"p:k:0:{2**64}:{vtag}",  # does not fit SQLite's signed 64-bit INTEGER
        f"p:k:0:{-(2**70)}:{vtag}",
        f"p:k:99999999:1:{vtag}",
        "m:k:-5",
        "p:k:0:1e9:" + vtag,
        "\x00\xff garbage",
        "f:k:maybe",
        passage_data("k", 0, 2**63 - 1, real_core.version),  # fits, but no such chunk
    ]
    with RunningBot(build_application(settings, real_core)):
        for data in forged:
            updates.press(data, message)
        fake_api.wait_for(lambda: len(fake_api.calls_of("answerCallbackQuery")) == len(forged))
    answers = [c.params.get("text", "") for c in fake_api.calls_of("answerCallbackQuery")]
    assert all(answers) and all("抱歉" not in a for a in answers), answers
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def test_fake_core_fixture_still_answers(
    running: RunningBot, fake_api: FakeBotApi, updates: Updates, fake_core: FakeCore
) -> None:
    """Sanity: with no faults injected nothing is retried."""
    updates.message(QUESTION)
    fake_api.wait_for(lambda: len(fake_api.sent(USER_ID)) == 1)
    assert len(_send_attempts(fake_api)) == 1 and fake_core.asked == [QUESTION]


def test_bot_without_an_index_starts_when_one_is_published(
    tmp_path: Path, fake_api: FakeBotApi, updates: Updates
) -> None:
    """``wenda bot`` with no usable index waits; a ``wenda index`` elsewhere brings it up."""
    env = {
        **os.environ,
        "WENDA_CORPUS_DIR": str(tmp_path / "corpus"),  # missing: the first build fails
        "WENDA_INDEX_DIR": str(tmp_path / "idx"),
        "WENDA_MODEL": "hashing",
        "WENDA_RELOAD_CHECK_SECONDS": "0.2",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": fake_api.base_url,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "wenda.index.cli"]
    log_path = tmp_path / "bot.log"
    with log_path.open("wb") as log:
        bot = subprocess.Popen([*command, "bot"], cwd=tmp_path, env=env, stderr=log)
    try:
        fake_api.wait_for(lambda: "index not usable" in log_path.read_text("utf-8"), 60)
        assert bot.poll() is None  # still running, waiting for an index
        shutil.copytree(SEED_CORPUS, tmp_path / "corpus")
        built = subprocess.run(
            [*command, "index"], cwd=tmp_path, env=env, capture_output=True, timeout=300
        )
        assert built.returncode == 0, built.stderr
        fake_api.wait_for(lambda: bool(fake_api.calls_of("getMe")), timeout=60)
        updates.message("/help")
        fake_api.wait_for(lambda: len(fake_api.sent(USER_ID)) >= 1, timeout=60)
        assert "川渝合作成效盘点" in fake_api.sent(USER_ID)[0]["text"]
    finally:
        bot.terminate()
        bot.wait(20)
