"""``wenda bot`` start-up failures print one clear line, never a traceback (issue 12 item 9)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bot.fake_bot_api import FakeBotApi

REPO = Path(__file__).resolve().parents[2]
CODE = (
    "import sys\n"
    "from importlib.metadata import EntryPoint\n"
    "import wenda.index.cli as cli\n"
    "if not [ep for ep in cli.entry_points(group='wenda.commands') if ep.name == 'bot']:\n"
    "    ep = EntryPoint('bot', 'wenda.bot.cli:register', 'wenda.commands')\n"
    "    cli.entry_points = lambda group: [ep]\n"
    "sys.exit(cli.main(['bot']))\n"
)


def run_bot(tmp_path: Path, token: str, base_url: str) -> subprocess.CompletedProcess[str]:
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        shutil.copytree(REPO / "corpus", corpus)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_BASE_URL": base_url,
        "WENDA_MODEL": "hashing",
        "WENDA_CORPUS_DIR": str(corpus),
        "WENDA_INDEX_DIR": str(tmp_path / "idx"),
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [sys.executable, "-c", CODE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the socket goes


@pytest.mark.parametrize("case", ["no network", "bad token"])
def test_start_up_failure_is_one_line(tmp_path: Path, case: str) -> None:
    if case == "no network":
        result = run_bot(tmp_path, "123:ABC", f"http://127.0.0.1:{closed_port()}/bot")
        expected_code, expected = 1, "无法连接 Telegram Bot API"
    else:
        api = FakeBotApi().start()  # answers 404 for any other token, as Telegram does
        try:
            result = run_bot(tmp_path, "999:WRONG", api.base_url)
        finally:
            api.stop()
        expected_code, expected = 2, "TELEGRAM_BOT_TOKEN"
    assert result.returncode == expected_code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
