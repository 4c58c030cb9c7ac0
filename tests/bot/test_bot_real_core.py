"""End to end with the real core (``Wenda`` + the "hashing" test embedder) in process.

The bot polls the fake Bot API server; questions go to ``Wenda.ask`` in a thread, never
over HTTP to our own API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wenda.bot.app import build_application
from wenda.bot.splitting import MAX_MESSAGE_CHARS, utf16_len
from wenda.index.core import Wenda
from wenda.index.settings import Settings

from tests.bot.bot_harness import ADMIN_ID, USER_ID, RunningBot, Updates, bot_settings
from tests.bot.bot_html_check import check_telegram_html
from tests.bot.fake_bot_api import FakeBotApi

QUESTION = "川渝两地住院费用直接结算的定点医疗机构有多少家？"
LONG_SENTENCE = "川渝协同发展长段落第{}句，涉及交通、产业、生态与公共服务等多个领域的合作事项。"
TRICKY_DOC = (
    "特殊符号测试文件\n\n"
    "第一节 符号规则\n"
    "本文件的特殊符号规定：标签写作 <b>粗体</b>，并列写作 A & B，强调写作 *星号*。"
    "特殊符号规定的编号是 X&Y<7>。\n\n"
    "第二节 超长段落\n" + "".join(LONG_SENTENCE.format(i) for i in range(250)) + "\n"
)


def _buttons(params: dict[str, Any]) -> list[dict[str, Any]]:
    markup = params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def _assert_clean(api: FakeBotApi) -> None:
    assert api.rejected() == [], api.describe()
    for params in api.sent():
        assert params.get("parse_mode") == "HTML"
        assert utf16_len(params["text"]) <= MAX_MESSAGE_CHARS
        check_telegram_html(params["text"])
        for button in _buttons(params):
            assert len(button.get("callback_data", "").encode()) <= 64


def _settings(tmp_path: Path, api: FakeBotApi, **changes: Any) -> Settings:
    settings = bot_settings(tmp_path, api, reload_check_seconds=0.0, **changes)
    (settings.corpus_dir / "特殊符号测试.txt").write_text(TRICKY_DOC, encoding="utf-8")
    return settings


@pytest.fixture
def core_and_api(tmp_path: Path, fake_api: FakeBotApi) -> Iterator[tuple[Wenda, FakeBotApi]]:
    core = Wenda.open(_settings(tmp_path, fake_api), build_if_missing=True)
    yield core, fake_api
    core.close()


def test_question_answered_from_the_real_index(
    core_and_api: tuple[Wenda, FakeBotApi], updates: Updates
) -> None:
    core, api = core_and_api
    with RunningBot(build_application(core.settings, core)):
        updates.message(QUESTION)
        api.wait_for(lambda: len(api.sent(USER_ID)) >= 1)
    (reply,) = api.sent(USER_ID)
    visible = check_telegram_html(reply["text"])
    assert visible.startswith("答：") and "5182家" in visible
    assert "来源：" in visible and "[1]" in visible
    titles = {d.title for d in core.documents()}
    assert any(f"《{t}》" in visible for t in titles)
    assert "<b>" in reply["text"].split("来源：", 1)[1]  # the answer is bold in a citation
    assert any(b["text"].startswith("更多来源") for b in _buttons(reply))
    _assert_clean(api)


def test_document_markup_is_escaped(
    core_and_api: tuple[Wenda, FakeBotApi], updates: Updates
) -> None:
    core, api = core_and_api
    with RunningBot(build_application(core.settings, core)):
        updates.message("特殊符号规定的编号是什么？")
        api.wait_for(lambda: len(api.sent(USER_ID)) >= 1)
        reply = api.sent(USER_ID)[0]
        message = api.sent_messages(USER_ID)[0]
        full = next(b for b in _buttons(reply) if b["text"] == "原文 [1]")
        updates.press(full["callback_data"], message)
        api.wait_for(lambda: len(api.sent(USER_ID)) >= 2)
    text = reply["text"]
    assert "&lt;7&gt;" in text and "X&amp;Y" in text
    assert "X&Y<7>" in check_telegram_html(text)
    passage = check_telegram_html(api.sent(USER_ID)[1]["text"])
    assert passage.startswith("[1] 《")
    _assert_clean(api)


def test_a_huge_passage_is_split_cleanly(
    tmp_path: Path, fake_api: FakeBotApi, updates: Updates
) -> None:
    settings = _settings(tmp_path, fake_api, chunk_target_chars=4000, chunk_max_chars=8000)
    clause = "，川渝协同发展超长句涉及交通、产业、生态与公共服务 & <合作>"
    sentences = "".join(f"第{i}句{clause * 70}。" for i in range(4))  # ~2,500 characters each
    (settings.corpus_dir / "超长段落.txt").write_text(f"超长段落\n\n{sentences}\n", "utf-8")
    question = "川渝协同发展超长句涉及哪些领域？"
    core = Wenda.open(settings, build_if_missing=True)
    try:
        shown = core.ask(question).passages[:3]
        big = [p.n for p in shown if utf16_len(p.text) > MAX_MESSAGE_CHARS]
        assert big, "expected a cited passage longer than one message"
        with RunningBot(build_application(settings, core)):
            updates.message(question)
            fake_api.wait_for(lambda: len(fake_api.sent(USER_ID)) >= 1)
            reply = fake_api.sent(USER_ID)[0]
            button = next(b for b in _buttons(reply) if b["text"] == f"原文 [{big[0]}]")
            updates.press(button["callback_data"], fake_api.sent_messages(USER_ID)[0])
            fake_api.wait_for(lambda: len(fake_api.sent(USER_ID)) >= 3)
    finally:
        core.close()
    parts = fake_api.sent(USER_ID)[1:]
    assert parts[0]["text"].startswith(f"<b>[{big[0]}]</b> 《")
    _assert_clean(fake_api)


def test_reindex_and_picking_up_a_version_published_elsewhere(
    core_and_api: tuple[Wenda, FakeBotApi], updates: Updates
) -> None:
    core, api = core_and_api
    settings = core.settings
    first = core.version
    with RunningBot(build_application(settings, core)):
        (settings.corpus_dir / "新增资料.txt").write_text(
            "新增资料\n\n火锅节\n2021年川渝火锅节共吸引游客120万人次。\n", encoding="utf-8"
        )
        updates.message("/reindex", chat_id=ADMIN_ID, user_id=ADMIN_ID)
        api.wait_for(lambda: len(api.sent(ADMIN_ID)) >= 2, timeout=120)
        report = check_telegram_html(api.sent(ADMIN_ID)[1]["text"])
        assert "索引更新完成" in report and "新增 1" in report
        second = core.version
        assert second != first and second in report

        # `wenda index` in another process publishes a new version: the bot switches to it.
        (settings.corpus_dir / "另一份资料.txt").write_text(
            "另一份资料\n\n熊猫\n成都大熊猫基地2021年接待游客80万人次。\n", encoding="utf-8"
        )
        other = Wenda.open(settings, embedder=core.embedder)
        try:
            third = other.reindex().version
        finally:
            other.close()
        assert third != second
        updates.message("/status", chat_id=ADMIN_ID, user_id=ADMIN_ID)
        api.wait_for(lambda: len(api.sent(ADMIN_ID)) >= 3)
        assert third in check_telegram_html(api.sent(ADMIN_ID)[2]["text"])
        updates.message("成都大熊猫基地2021年接待游客多少人次？")
        api.wait_for(lambda: len(api.sent(USER_ID)) >= 1)
    assert "80万" in check_telegram_html(api.sent(USER_ID)[0]["text"])
    _assert_clean(api)
