"""Fixtures for the bot tests: a fake Bot API server, a stand-in core, a running bot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from wenda.bot.app import build_application

from tests.bot.bot_harness import FakeCore, RunningBot, Updates, bot_settings
from tests.bot.fake_bot_api import FakeBotApi


@pytest.fixture
def fake_api() -> Iterator[FakeBotApi]:
    api = FakeBotApi().start()
    yield api
    api.stop()


@pytest.fixture
def updates(fake_api: FakeBotApi) -> Updates:
    return Updates(fake_api)


@pytest.fixture
def fake_core() -> FakeCore:
    return FakeCore()


@pytest.fixture
def running(tmp_path: Path, fake_api: FakeBotApi, fake_core: FakeCore) -> Iterator[RunningBot]:
    """The bot over ``FakeCore``, polling the fake server."""
    settings = bot_settings(tmp_path, fake_api)
    with RunningBot(build_application(settings, fake_core)) as bot:
        yield bot
