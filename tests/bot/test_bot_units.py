"""Callback data, keyboards, the rate limiter and the ``wenda bot`` command line."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest
from wenda.bot.app import api_urls
from wenda.bot.cli import register, run
from wenda.bot.keyboards import (
    MAX_CALLBACK_BYTES,
    MoreRequest,
    PassageRequest,
    more_data,
    parse_callback,
    passage_data,
    sources_keyboard,
    version_tag,
    without_more_button,
)
from wenda.bot.ratelimit import RateLimiter, Verdict
from wenda.bot.settings import BotSettings
from wenda.bot.state import MAX_REMEMBERED_ANSWERS, recall_answer, remember_answer
from wenda.index.models import Answer

from tests.bot.bot_harness import tricky_passage

REPO = Path(__file__).resolve().parents[2]


def test_callback_data_stays_within_64_bytes_and_round_trips() -> None:
    version = "20991231T235959-" + "f" * 200  # however long a version string gets
    data = passage_data("zzzzzz", 19, 2**31 - 1, version)
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    assert parse_callback(data) == PassageRequest("zzzzzz", 19, 2**31 - 1, version_tag(version))
    more = more_data("zzzzzz", 18)
    assert len(more.encode()) <= MAX_CALLBACK_BYTES
    assert parse_callback(more) == MoreRequest("zzzzzz", 18)
    for junk in (None, "", "x", "m:k", "m:k:x", "p:k:1:2", "p:k:a:2:t", "other:1:2"):
        assert parse_callback(junk) is None


def test_keyboard_offers_full_text_and_more_sources() -> None:
    passages = [tricky_passage(n, n) for n in range(1, 6)]
    markup = sources_keyboard("a", passages, "v1")
    assert markup is not None
    rows = markup.inline_keyboard
    assert [b.text for b in rows[0]] == ["原文 [1]", "原文 [2]", "原文 [3]"]
    assert rows[1][0].text.startswith("更多来源")
    for row in rows:
        for button in row:
            assert len(str(button.callback_data).encode()) <= MAX_CALLBACK_BYTES
    assert parse_callback(str(rows[1][0].callback_data)) == MoreRequest("a", 3)
    rest = sources_keyboard("a", passages, "v1", offset=3)
    assert rest is not None and len(rest.inline_keyboard) == 1  # [4], [5] and no more
    stripped = without_more_button(markup)
    assert stripped is not None and len(stripped.inline_keyboard) == 1
    assert sources_keyboard("a", [], "v1") is None


def test_answers_are_remembered_under_short_keys_and_forgotten_in_order() -> None:
    chat_data: dict = {}
    answer = Answer("问题", True, "答[1]", [tricky_passage(1, 1)], "v1")
    keys = [remember_answer(chat_data, answer) for _ in range(MAX_REMEMBERED_ANSWERS + 5)]
    assert all(len(k) <= 3 for k in keys)
    assert recall_answer(chat_data, keys[0]) is None
    stored = recall_answer(chat_data, keys[-1])
    assert stored is not None and stored.answer == "答[1]" and stored.version == "v1"
    assert recall_answer(None, "1") is None


def test_rate_limiter_warns_once_then_drops_until_the_window_frees() -> None:
    now = [0.0]
    limiter = RateLimiter(3, window=60, clock=lambda: now[0])
    assert [limiter.check("c") for _ in range(3)] == [Verdict.ALLOW] * 3
    assert limiter.check("c") is Verdict.WARN
    assert limiter.check("c") is Verdict.DROP
    assert limiter.check("other") is Verdict.ALLOW  # per chat
    assert limiter.retry_after("c") == pytest.approx(60)
    now[0] = 60.5
    assert limiter.check("c") is Verdict.ALLOW
    assert limiter.retry_after("c") == 0
    now[0] = 1000
    limiter.prune()
    assert not limiter._hits


def test_api_urls_for_a_self_hosted_server() -> None:
    assert api_urls("http://h:8081/bot") == ("http://h:8081/bot", "http://h:8081/file/bot")
    assert api_urls("http://h:8081/") == ("http://h:8081/bot", "http://h:8081/file/bot")


def test_run_without_token_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    settings = BotSettings(_env_file=None, telegram_bot_token=None)
    assert run(argparse.Namespace(), settings) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "TELEGRAM_BOT_TOKEN" in err and "Traceback" not in err


def test_register_adds_the_bot_subcommand() -> None:
    parser = argparse.ArgumentParser(prog="wenda")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bot", "--drop-pending-updates"])
    assert args.func is run and args.drop_pending_updates is True


def test_wenda_bot_without_token_via_the_real_cli(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TELEGRAM_BOT_TOKEN": ""}
    code = (
        "import sys\n"
        "from importlib.metadata import EntryPoint\n"
        "import wenda.index.cli as cli\n"
        "if not [ep for ep in cli.entry_points(group='wenda.commands') if ep.name == 'bot']:\n"
        "    # not pip-installed here (CI installs -e .): declare it as pyproject.toml does\n"
        "    ep = EntryPoint('bot', 'wenda.bot.cli:register', 'wenda.commands')\n"
        "    cli.entry_points = lambda group: [ep]\n"
        "sys.exit(cli.main(['bot']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_import_bot_pulls_in_neither_the_web_api_nor_telegram_eagerly() -> None:
    code = (
        "import sys, bot, wenda.bot.cli\n"
        "assert 'telegram' not in sys.modules, 'telegram imported eagerly'\n"
        "from bot import build_application\n"
        "import wenda.bot.app, wenda.bot.handlers\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'api', 'uvicorn')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=120)
