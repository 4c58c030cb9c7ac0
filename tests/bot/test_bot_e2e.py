"""The real ``Application`` polling a fake Bot API server, over a stand-in core.

Every scenario goes through HTTP exactly as in production: getUpdates in, sendMessage
and friends out; the fake server rejects invalid HTML and over-long messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wenda.bot.app import build_application
from wenda.bot.keyboards import passage_data
from wenda.bot.splitting import MAX_MESSAGE_CHARS, utf16_len

from tests.bot.bot_harness import (
    ADMIN_ID,
    USER_ID,
    FakeCore,
    RunningBot,
    Updates,
    bot_settings,
)
from tests.bot.bot_html_check import check_telegram_html
from tests.bot.fake_bot_api import BOT_ID, BOT_USERNAME, FakeBotApi

GROUP = -1001
QUESTION = "川渝两地住院费用直接结算的定点医疗机构有多少家？"


def _buttons(params: dict[str, Any]) -> list[dict[str, Any]]:
    markup = params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def _wait_sent(api: FakeBotApi, chat_id: int, count: int) -> list[dict[str, Any]]:
    api.wait_for(lambda: len(api.sent(chat_id)) >= count)
    return api.sent(chat_id)


def _assert_clean(api: FakeBotApi) -> None:
    assert api.rejected() == [], api.describe()
    for params in api.sent():
        assert params.get("parse_mode") == "HTML"
        assert utf16_len(params["text"]) <= MAX_MESSAGE_CHARS
        check_telegram_html(params["text"])
        for button in _buttons(params):
            if "callback_data" in button:
                assert len(button["callback_data"].encode()) <= 64


def test_startup_uses_the_base_url_and_sets_commands(
    running: RunningBot, fake_api: FakeBotApi
) -> None:
    assert fake_api.calls_of("getMe")  # reached through TELEGRAM_API_BASE_URL
    commands = fake_api.calls_of("setMyCommands")[0].params["commands"]
    assert {c["command"] for c in commands} >= {"ask", "help", "status", "reindex"}
    fake_api.wait_for(lambda: any(c.method == "deleteWebhook" for c in fake_api.calls))


def test_private_question_gets_an_escaped_cited_answer(
    running: RunningBot, fake_api: FakeBotApi, updates: Updates, fake_core: FakeCore
) -> None:
    updates.message(QUESTION)
    (reply,) = _wait_sent(fake_api, USER_ID, 1)
    text = reply["text"]
    assert text.startswith("<b>答：</b>")
    assert "[1]</b> 《标记&lt;b&gt;与&amp;符号*测试》" in text
    assert "&lt;b&gt;粗体&lt;/b&gt;" in text and "&amp;" in text
    assert "<b>住院费用直接结算的定点医疗机构有1.2万家。</b>" in text.replace(" ", "")
    assert "[4]" not in text
    labels = [b["text"] for b in _buttons(reply)]
    assert labels[:3] == ["原文 [1]", "原文 [2]", "原文 [3]"]
    assert labels[3].startswith("更多来源")
    assert fake_core.asked == [QUESTION]
    _assert_clean(fake_api)


def test_unanswerable_question_says_so_and_offers_passages(
    running: RunningBot, fake_api: FakeBotApi, updates: Updates
) -> None:
    updates.message("火星上有几家医院？")
    (reply,) = _wait_sent(fake_api, USER_ID, 1)
    visible = check_telegram_html(reply["text"])
    assert visible.startswith("资料中没有找到相关内容。")
    assert "[1]" in visible and "《" in visible
    _assert_clean(fake_api)


def test_group_messages_only_when_addressed(
    running: RunningBot, fake_api: FakeBotApi, updates: Updates, fake_core: FakeCore
) -> None:
    updates.message("大家好，今天吃什么？", chat_id=GROUP)  # must be ignored
    updates.message(f"/ask@{BOT_USERNAME} {QUESTION}", chat_id=GROUP)
    replies = _wait_sent(fake_api, GROUP, 1)
    assert replies[0]["text"].startswith("<b>答：</b>")
    assert replies[0]["reply_parameters"]["message_id"]  # quotes the question in groups

    updates.message(f"@{BOT_USERNAME}，川渝共建了多少平台？", chat_id=GROUP)
    _wait_sent(fake_api, GROUP, 2)
    assert fake_core.asked[-1] == "川渝共建了多少平台？"  # mention stripped

    bot_message = fake_api.sent_messages(GROUP)[0]
    updates.message("那重庆呢？", chat_id=GROUP, reply_to=bot_message)
    _wait_sent(fake_api, GROUP, 3)
    assert fake_core.asked[-1] == "重庆共建了多少平台？"  # a follow-up, resolved (issue 12)

    other = {**bot_message, "from": {"id": 5, "is_bot": False, "first_name": "别人"}}
    updates.message("回复别人的消息", chat_id=GROUP, reply_to=other)  # ignored
    updates.message("/ask", chat_id=GROUP)
    replies = _wait_sent(fake_api, GROUP, 4)
    assert "用法：/ask" in replies[3]["text"]
    assert fake_core.asked == [QUESTION, "川渝共建了多少平台？", "重庆共建了多少平台？"]
    assert "大家好" not in " ".join(fake_core.asked)
    _assert_clean(fake_api)


def test_start_and_help_introduce_the_bot(
    running: RunningBot, fake_api: FakeBotApi, updates: Updates
) -> None:
    updates.message("/start")
    updates.message("/help")
    replies = _wait_sent(fake_api, USER_ID, 2)
    visible = check_telegram_html(replies[0]["text"])
    assert "川渝合作成效盘点" in visible and "标记<b>与&符号*测试" in visible
    assert QUESTION in visible and f"@{BOT_USERNAME}" in visible
    assert replies[0]["text"] == replies[1]["text"]
    updates.message("/nosuchcommand")
    replies = _wait_sent(fake_api, USER_ID, 3)
    assert "/help" in replies[2]["text"]
    _assert_clean(fake_api)


def test_more_sources_and_full_passage_buttons(
    running: RunningBot, fake_api: FakeBotApi, updates: Updates
) -> None:
    updates.message(QUESTION)
    _wait_sent(fake_api, USER_ID, 1)
    answer_message = fake_api.sent_messages(USER_ID)[0]
    buttons = _buttons(fake_api.sent(USER_ID)[0])
    more = next(b for b in buttons if b["text"].startswith("更多来源"))

    updates.press(more["callback_data"], answer_message)
    replies = _wait_sent(fake_api, USER_ID, 2)
    visible = check_telegram_html(replies[1]["text"])
    assert "更多来源" in visible and "[4]" in visible and "[5]" in visible
    assert "[1]" not in visible
    assert [b["text"] for b in _buttons(replies[1])] == ["原文 [4]", "原文 [5]"]
    fake_api.wait_for(lambda: len(fake_api.calls_of("answerCallbackQuery")) == 1)
    edited = fake_api.calls_of("editMessageReplyMarkup")[0].params
    assert not any(b["text"].startswith("更多来源") for b in _buttons(edited))

    full = next(b for b in buttons if b["text"] == "原文 [2]")
    updates.press(full["callback_data"], answer_message)
    replies = _wait_sent(fake_api, USER_ID, 3)
    visible = check_telegram_html(replies[2]["text"])
    assert visible.startswith("[2] 《标记<b>与&符号*测试》")
    assert "<b>粗体</b> & 星号*不是格式" in visible
    fake_api.wait_for(lambda: len(fake_api.calls_of("answerCallbackQuery")) == 2)
    _assert_clean(fake_api)


def test_stale_and_foreign_buttons_are_still_answered(
    running: RunningBot, fake_api: FakeBotApi, updates: Updates, fake_core: FakeCore
) -> None:
    message = {
        "message_id": 1,
        "date": 0,
        "chat": Updates.chat(USER_ID),
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "问答"},
        "text": "旧回答",
    }
    updates.press("m:zz:3", message)  # answer not remembered (e.g. after a restart)
    updates.press("p:zz:0:2:00000000", message)  # index version changed
    updates.press("garbage", message)
    fake_api.wait_for(lambda: len(fake_api.calls_of("answerCallbackQuery")) == 3)
    texts = [c.params.get("text", "") for c in fake_api.calls_of("answerCallbackQuery")]
    assert "过期" in texts[0] and "过期" in texts[1] and "失效" in texts[2]

    updates.press(passage_data("zz", 1, 2, fake_core.version), message)  # chunk id still valid
    (reply,) = _wait_sent(fake_api, USER_ID, 1)
    assert "星号*不是格式" in reply["text"]

    updates.press(passage_data("zz", 0, 13, fake_core.version), message)  # the core fails
    fake_api.wait_for(lambda: len(fake_api.calls_of("answerCallbackQuery")) == 5)
    failed = fake_api.calls_of("answerCallbackQuery")[-1].params
    assert "抱歉" in failed["text"] and failed["show_alert"] is True
    _assert_clean(fake_api)


def test_admin_commands(
    running: RunningBot, fake_api: FakeBotApi, updates: Updates, fake_core: FakeCore
) -> None:
    updates.message("/status")
    updates.message("/reindex")
    refusals = _wait_sent(fake_api, USER_ID, 2)
    assert all("管理员" in r["text"] for r in refusals)
    assert fake_core.reindexed == 0

    updates.message("/status", chat_id=ADMIN_ID, user_id=ADMIN_ID)
    (status,) = _wait_sent(fake_api, ADMIN_ID, 1)
    visible = check_telegram_html(status["text"])
    assert "文档：3" in visible and "片段：42" in visible and fake_core.version in visible
    assert "hashing" in visible

    updates.message("/reindex", chat_id=ADMIN_ID, user_id=ADMIN_ID)
    replies = _wait_sent(fake_api, ADMIN_ID, 3)
    assert "开始更新索引" in replies[1]["text"]
    report = check_telegram_html(replies[2]["text"])
    assert "新增 1" in report and "未变 2" in report and "重新嵌入片段：2" in report
    assert fake_core.reindexed == 1
    _assert_clean(fake_api)


def test_questions_are_answered_while_reindexing(
    running: RunningBot, fake_api: FakeBotApi, updates: Updates, fake_core: FakeCore
) -> None:
    fake_core.reindex_delay = 1.5
    updates.message("/reindex", chat_id=ADMIN_ID, user_id=ADMIN_ID)
    _wait_sent(fake_api, ADMIN_ID, 1)
    updates.message("/reindex", chat_id=ADMIN_ID, user_id=ADMIN_ID)
    updates.message(QUESTION)
    _wait_sent(fake_api, USER_ID, 1)
    replies = fake_api.sent(ADMIN_ID)
    assert len(replies) == 2 and "正在更新" in replies[1]["text"]  # not finished yet
    replies = _wait_sent(fake_api, ADMIN_ID, 3)
    assert "索引更新完成" in replies[2]["text"]
    assert fake_core.reindexed == 1


def test_a_failing_question_gets_a_polite_reply_and_the_bot_goes_on(
    running: RunningBot, fake_api: FakeBotApi, updates: Updates
) -> None:
    updates.message("这个问题会炸")
    updates.message("问" * 600)
    updates.message(QUESTION)
    replies = _wait_sent(fake_api, USER_ID, 3)
    assert "抱歉" in replies[0]["text"]
    assert "问题太长了" in replies[1]["text"] and "500" in replies[1]["text"]
    assert replies[2]["text"].startswith("<b>答：</b>")


def test_long_answer_is_split_into_valid_messages(
    running: RunningBot, fake_api: FakeBotApi, updates: Updates
) -> None:
    updates.message("给我一个很长的回答")
    fake_api.wait_for(lambda: any(_buttons(p) for p in fake_api.sent(USER_ID)))
    replies = fake_api.sent(USER_ID)
    assert len(replies) >= 3
    assert not any(_buttons(p) for p in replies[:-1])  # keyboard under the last part
    _assert_clean(fake_api)


def test_rate_limit_warns_once_per_chat(
    tmp_path: Path, fake_api: FakeBotApi, updates: Updates, fake_core: FakeCore
) -> None:
    settings = bot_settings(tmp_path, fake_api, telegram_rate_per_minute=3)
    with RunningBot(build_application(settings, fake_core)):
        for i in range(6):
            updates.message(f"第{i}个问题：定点医疗机构有多少家？")
        updates.message("另一个聊天的问题", chat_id=8, user_id=8)
        replies = _wait_sent(fake_api, USER_ID, 4)
        _wait_sent(fake_api, 8, 1)
        fake_api.wait_for(lambda: len(fake_core.asked) == 4)
    replies = fake_api.sent(USER_ID)
    assert len(replies) == 4
    assert sum("太频繁" in r["text"] for r in replies) == 1
    assert "每分钟最多 3 个" in replies[3]["text"]
    assert len(fake_core.asked) == 4  # 3 in chat 7, 1 in chat 8
