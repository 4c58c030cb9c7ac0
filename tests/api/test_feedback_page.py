"""The question page: conversation history, 👍/👎, relevance, folding; no internal version id.

The page's pure helpers run under node (the same file the browser loads); the page and its
endpoints are served by a real uvicorn.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from wenda.api import create_app
from wenda.api.web import STATIC_DIR
from wenda.index.feedback import FeedbackStore

from tests.api.conftest import LiveServer, make_settings, wait_until

NODE = shutil.which("node")
APP_JS = STATIC_DIR / "app.js"
CONVERSATION_JS = STATIC_DIR / "conversation.js"


def run_view(expression: str) -> Any:
    """Evaluate ``expression`` with ``v`` = the page's WendaView helpers, in node."""
    if NODE is None:
        pytest.skip("node is not installed")
    script = (
        f"const v = require({json.dumps(str(CONVERSATION_JS))});"
        f" console.log(JSON.stringify({expression}));"
    )
    out = subprocess.run([NODE, "-e", script], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_passages_far_below_the_first_are_folded() -> None:
    passages = [{"n": 1, "score": 1.0}, {"n": 2, "score": 0.51}, {"n": 3, "score": 0.155}]
    parts = run_view(f"v.fold({json.dumps(passages)})")
    assert [p["n"] for p in parts["shown"]] == [1, 2]
    assert [p["n"] for p in parts["folded"]] == [3]
    assert run_view("v.fold([])") == {"shown": [], "folded": []}
    # a weak first passage does not hide close ones
    weak = [{"n": 1, "score": 0.2}, {"n": 2, "score": 0.15}]
    assert run_view(f"v.fold({json.dumps(weak)}).folded") == []


def test_relevance_is_a_clamped_percentage() -> None:
    assert run_view(
        "[v.relevance(1), v.relevance(0.5149), v.relevance(-1), v.relevance(null)]"
    ) == [
        100,
        51,
        0,
        0,
    ]


def test_history_keeps_the_latest_questions() -> None:
    history = run_view("['a','b','c','d','e','f'].reduce((h, q) => v.remember(h, q), [])")
    assert history == ["b", "c", "d", "e", "f"]


def test_page_has_conversation_feedback_and_no_version(
    shared_settings: Any, shared_core: Any
) -> None:
    with (
        LiveServer(create_app(shared_settings, core=shared_core)) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        page = http.get("/").text
        app = http.get("/static/app.js").text
        talk = http.get("/static/conversation.js").text
    for needed in ('id="feedback"', 'data-vote="up"', 'data-vote="down"', 'id="new-chat"'):
        assert needed in page, needed
    assert 'id="understood"' in page and 'id="history"' in page
    for needed in ('fetch("feedback"', 'fetch("followup"', "理解为：", "sessionStorage"):
        assert needed in talk, needed
    for needed in ("相关度", "details", "WendaView.fold", "talk.resolve", "talk.answered"):
        assert needed in app, needed
    for js in (app, talk):
        # the internal index version is for operators (/readyz), not for readers of the page
        assert "index_version" not in js and "s.version" not in js and "版本" not in js
        assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "eval(" not in js


def test_static_dir_is_the_one_in_the_repo() -> None:
    assert Path(__file__).resolve().parents[2] / "api" / "static" == CONVERSATION_JS.parent


def test_the_page_scripts_ask_follow_up_and_vote_against_a_real_server(own_root: Path) -> None:
    """conversation.js + app.js under node with a stand-in DOM, talking to real uvicorn."""
    if NODE is None:
        pytest.skip("node is not installed")
    question = "川渝两地住院费用直接结算的定点医疗机构有多少家？"
    app = create_app(make_settings(own_root))
    with LiveServer(app) as server:
        wait_until(lambda: httpx.get(server.url + "/readyz").status_code == 200, timeout=60)
        driver = Path(__file__).with_name("page_driver.js")
        args = [NODE, str(driver), server.url, str(STATIC_DIR), question, "那重庆呢？"]
        out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    page = json.loads(out.stdout)
    assert page["index_info"].startswith("已收录") and "版本" not in page["index_info"]
    first, second = page["first"], page["second"]
    assert "5182家" in first["answer"] and first["understood"] is None
    assert "版本" not in first["meta"] and first["meta"].startswith("用时")
    assert first["shown"] >= 1 and first["shown"] + first["folded"] == 5
    assert len(first["relevance"]) == 5 and first["relevance"][0] == "相关度 100%"
    assert second["understood"].startswith("理解为：重庆") and "1887家" in second["answer"]
    assert second["history"] == [question, "那重庆呢？"]
    assert page["vote_note"] == "谢谢你的反馈！" and page["history_after_new_chat"] == []
    [vote] = FeedbackStore.in_index_dir(own_root / "idx").records()
    assert vote.vote == "down" and vote.source == "web" and vote.question == "那重庆呢？"
    assert vote.resolved_question.startswith("重庆") and vote.chunk_ids


def test_the_page_asks_for_the_api_key_when_the_server_wants_one(own_root: Path) -> None:
    """With WENDA_API_KEYS set, the page's first question gets a 401: it shows the key form,
    and once the key is typed it asks again and sends the key with every later request."""
    if NODE is None:
        pytest.skip("node is not installed")
    key = "page-key-0123456789abcdef"
    question = "川渝两地住院费用直接结算的定点医疗机构有多少家？"
    app = create_app(make_settings(own_root, api_keys=[key]))
    with LiveServer(app) as server:
        wait_until(lambda: httpx.get(server.url + "/readyz").status_code == 200, timeout=60)
        assert httpx.post(server.url + "/ask", json={"question": question}).status_code == 401
        driver = Path(__file__).with_name("page_driver.js")
        args = [NODE, str(driver), server.url, str(STATIC_DIR), question, "那重庆呢？", key]
        out = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    page = json.loads(out.stdout)
    assert page["key"]["prompt"].startswith("需要 API 密钥")
    assert page["key"]["form_hidden"] and page["key"]["stored"] == key
    assert "5182家" in page["first"]["answer"]
    assert "1887家" in page["second"]["answer"]  # the follow-up and the ask carried the key
    assert page["vote_note"] == "谢谢你的反馈！"  # and so did the vote
