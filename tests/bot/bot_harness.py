"""Test harness for the bot: a stand-in core, a bot running in a thread, update builders."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from telegram.ext import Application
from wenda.bot.settings import BotSettings
from wenda.index.errors import EmptyQuestionError, QuestionTooLongError
from wenda.index.models import Answer, BuildReport, DocumentInfo, IndexStatus, Passage

from tests.bot.fake_bot_api import BOT_USERNAME, TOKEN, FakeBotApi

SEED_CORPUS = Path(__file__).resolve().parents[2] / "corpus"
TRICKY_TITLE = "标记<b>与&符号*测试"
TRICKY_TEXT = "规定：<b>粗体</b> & 星号*不是格式。住院费用直接结算的定点医疗机构有 1.2 万家。"
ADMIN_ID = 42
USER_ID = 7


def tricky_passage(n: int, chunk_id: int, **changes: Any) -> Passage:
    fields: dict[str, Any] = {
        "n": n,
        "doc_id": "tricky.txt",
        "title": TRICKY_TITLE,
        "section": "第<1>节 & 附则",
        "start": 100 * chunk_id,
        "end": 100 * chunk_id + len(TRICKY_TEXT),
        "score": 1.0 / max(n, 1),
        "text": TRICKY_TEXT,
        "chunk_id": chunk_id,
    }
    fields.update(changes)
    return Passage(**fields)


class FakeCore:
    """Implements the contract of ``wenda.index.core.Wenda`` with canned, tricky answers.

    Question words pick the behaviour: "火星" is unanswerable, "炸" raises, "长" gives an
    answer far over Telegram's 4,096 characters; anything else is answered from a passage
    full of ``<b>``, ``&`` and ``*``.
    """

    def __init__(self, passages: int = 5) -> None:
        self.version = "20250101T000000-aaaa"
        self.passages = passages
        self.asked: list[str] = []
        self.reindexed = 0
        self.refreshed = 0
        self.reindex_delay = 0.0

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        if not question.strip():
            raise EmptyQuestionError()
        if len(question) > 500:
            raise QuestionTooLongError(len(question), 500)
        self.asked.append(question)
        if "炸" in question:
            raise RuntimeError("boom")
        sentence = "住院费用直接结算的定点医疗机构有 1.2 万家。"
        at = TRICKY_TEXT.index(sentence)
        passages = [
            tricky_passage(i + 1, i + 1, answer_start=at, answer_end=at + len(sentence))
            for i in range(self.passages)
        ]
        if "火星" in question:
            for p in passages:
                p.answer_start = p.answer_end = None
            return Answer(question, False, "资料中没有找到相关内容。", passages, self.version)
        if "长" in question:
            sentence = "很长的回答<b>&amp;</b>" * 900
        return Answer(question, True, f"{sentence}[1]", passages, self.version)

    def status(self) -> IndexStatus:
        return IndexStatus(self.version, 3, 42, "hashing", 256, "flat")

    def documents(self) -> list[DocumentInfo]:
        return [
            DocumentInfo("a.txt", "川渝合作成效盘点", 10, "h1", "2025-01-01T00:00:00Z", 1000),
            DocumentInfo("tricky.txt", TRICKY_TITLE, 2, "h2", "2025-01-01T00:00:00Z", 100),
        ]

    def reindex(self, progress: Any = None) -> BuildReport:
        time.sleep(self.reindex_delay)
        self.reindexed += 1
        self.version = f"20250102T000000-{self.reindexed:04d}"
        return BuildReport(
            version=self.version,
            added=["new.txt"],
            unchanged=["a.txt", "tricky.txt"],
            chunks_total=44,
            chunks_embedded=2,
            published=True,
            seconds=0.5,
        )

    def refresh(self) -> bool:
        self.refreshed += 1
        return False

    def passage_by_chunk_id(self, chunk_id: int) -> Passage | None:
        if chunk_id == 13:
            raise RuntimeError("unlucky chunk")
        if 1 <= chunk_id <= self.passages:
            return tricky_passage(0, chunk_id)
        return None


class RunningBot:
    """Runs the real ``Application`` (initialize, post_init, start, polling) in a thread.

    The same sequence ``run_polling`` performs, minus signal handling, so tests stay
    synchronous and simply wait for the fake server to see the bot's requests.
    """

    def __init__(self, application: Application) -> None:
        self.application = application
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def call(self, coroutine: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _start(self) -> None:
        app = self.application
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)

    async def _stop(self) -> None:
        app = self.application
        assert app.updater is not None
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    def __enter__(self) -> RunningBot:
        self.thread.start()
        self.call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.call(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


class Updates:
    """Builds Bot API update payloads (as JSON dicts) and pushes them to the fake server."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self._ids = itertools.count(1)

    @staticmethod
    def user(user_id: int = USER_ID) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "测试用户", "language_code": "zh"}

    @staticmethod
    def chat(chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "测试用户"}
        return {"id": chat_id, "type": "supergroup", "title": "测试群"}

    def message(
        self,
        text: str,
        chat_id: int = USER_ID,
        user_id: int = USER_ID,
        reply_to: dict[str, Any] | None = None,
    ) -> int:
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self.user(user_id),
            "text": text,
        }
        entities = []
        if text.startswith("/"):
            command = text.split()[0]
            entities.append({"type": "bot_command", "offset": 0, "length": len(command)})
        mention = f"@{BOT_USERNAME}"
        if mention in text:
            offset = len(text[: text.index(mention)].encode("utf-16-le")) // 2
            entities.append({"type": "mention", "offset": offset, "length": len(mention)})
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return self.api.push_update({"message": message})

    def press(self, data: str, message: dict[str, Any], user_id: int = USER_ID) -> int:
        query = {
            "id": f"cbq{next(self._ids)}",
            "from": self.user(user_id),
            "chat_instance": "ci-1",
            "data": data,
            "message": message,
        }
        return self.api.push_update({"callback_query": query})


def bot_settings(tmp_path: Path, api: FakeBotApi, **changes: Any) -> BotSettings:
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        shutil.copytree(SEED_CORPUS, corpus)
    values: dict[str, Any] = {
        "_env_file": None,
        "corpus_dir": corpus,
        "index_dir": tmp_path / "idx",
        "model": "hashing",
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": api.base_url,
        "telegram_admin_ids": [ADMIN_ID],
        "telegram_rate_per_minute": 20,
        "model_cache_dir": tmp_path / "models",
    }
    values.update(changes)
    return BotSettings(**values)
