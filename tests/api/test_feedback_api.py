"""POST /feedback, POST /followup and WENDA_WATCH through a real uvicorn server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from wenda.api import create_app
from wenda.index.cli import main as wenda_main
from wenda.index.feedback import FeedbackStore

from tests.api.conftest import LiveServer, make_settings, wait_until

QUESTION = "川渝两地住院费用直接结算的定点医疗机构有多少家？"


@pytest.fixture
def live(own_root: Path) -> Any:
    app = create_app(make_settings(own_root))
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        wait_until(lambda: http.get("/readyz").status_code == 200, timeout=60)
        yield http, own_root


def test_a_down_vote_is_stored_with_the_cited_chunks(live: Any) -> None:
    http, root = live
    shown = http.post("/ask", json={"question": QUESTION}).json()
    response = http.post(
        "/feedback",
        json={"vote": "down", "question": QUESTION, "answer": shown["answer"], "asked": "多少家？"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["vote"] == "down" and body["id"] >= 1
    [record] = FeedbackStore.in_index_dir(root / "idx").records()
    assert record.question == "多少家？" and record.resolved_question == QUESTION
    assert record.answer == shown["answer"] and record.source == "web"
    assert record.index_version == shown["index_version"] and record.chunk_ids
    assert http.get("/readyz").json()["watch"] is None  # WENDA_WATCH off by default


def test_an_answer_that_no_longer_reproduces_keeps_no_chunk_ids(live: Any) -> None:
    http, root = live
    response = http.post(
        "/feedback", json={"vote": "up", "question": QUESTION, "answer": "一个旧的回答。[1]"}
    )
    assert response.status_code == 201
    [record] = FeedbackStore.in_index_dir(root / "idx").records()
    assert record.chunk_ids == () and record.index_version == ""


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"vote": "meh", "question": QUESTION}, 422),
        ({"vote": "up", "question": "   "}, 422),
        ({"vote": "up"}, 422),
        ({"vote": "up", "question": "长" * 501}, 422),
        ([1, 2], 422),
    ],
)
def test_bad_feedback_gets_a_4xx_json_error(live: Any, body: Any, status: int) -> None:
    http, root = live
    response = http.post("/feedback", json=body)
    assert response.status_code == status
    assert set(response.json()["error"]) >= {"code", "message"}
    assert FeedbackStore.in_index_dir(root / "idx").records() == []


def test_invalid_json_is_400(live: Any) -> None:
    http, _ = live
    response = http.post(
        "/feedback", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"


def test_followup_resolves_against_history_and_leaves_stand_alone(live: Any) -> None:
    http, _ = live
    r = http.post("/followup", json={"history": [QUESTION], "question": "那重庆呢？"}).json()
    assert r["rewritten"] and "重庆" in r["question"] and "住院" in r["question"]
    alone = "重庆首批定点医疗机构有多少家？"
    r = http.post("/followup", json={"history": [QUESTION], "question": alone}).json()
    assert r == {"question": alone, "rewritten": False}
    bad = http.post("/followup", json={"history": ["x"] * 21, "question": "那重庆呢？"})
    assert bad.status_code == 422


def test_votes_from_the_page_are_listed_by_the_cli(live: Any, capsys) -> None:
    http, root = live
    shown = http.post("/ask", json={"question": QUESTION}).json()
    http.post("/feedback", json={"vote": "up", "question": QUESTION, "answer": shown["answer"]})
    assert wenda_main(["--index-dir", str(root / "idx"), "feedback", "--json"]) == 0
    assert '"vote": "up"' in capsys.readouterr().out


def test_watch_rebuilds_and_readyz_reports_it(own_root: Path) -> None:
    settings = make_settings(own_root, watch=True, watch_debounce_seconds=0.3)
    app = create_app(settings)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        ready = wait_until(
            lambda: (r := http.get("/readyz")).status_code == 200 and r.json(), timeout=60
        )
        assert ready["watch"]["enabled"] and ready["watch"]["builds"] == 0
        assert app.state.watcher.ready.wait(10)
        for i in range(3):  # a burst: one build
            (own_root / "corpus" / f"watch{i}.txt").write_text(
                f"巫山县第{i}号码头。巫山小三峡游船每天开行{i + 10}班。", "utf-8"
            )
        status = wait_until(
            lambda: (w := http.get("/readyz").json()["watch"])["builds"] >= 1 and w, timeout=60
        )
        time.sleep(1.2)
        again = http.get("/readyz").json()
        assert again["watch"]["builds"] == 1
        assert status["last_build"]["ok"] and status["last_build"]["report"]["added"] == 3
        assert again["version"] == status["last_build"]["report"]["version"]
        answer = http.post("/ask", json={"question": "巫山小三峡游船每天开行多少班？"}).json()
        assert "巫山" in answer["passages"][0]["text"]


def test_feedback_and_followup_are_protected_like_ask(own_root: Path) -> None:
    settings = make_settings(own_root, api_keys=["k-123"], rate_limit_per_minute=2)
    with (
        LiveServer(create_app(settings)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        body = {"history": [QUESTION], "question": "那重庆呢？"}
        assert http.post("/followup", json=body).status_code == 401
        assert http.post("/feedback", json={"vote": "up", "question": QUESTION}).status_code == 401
        key = {"Authorization": "Bearer k-123"}
        statuses = [http.post("/followup", json=body, headers=key).status_code for _ in range(3)]
        assert statuses[:2] == [200, 200] and statuses[2] == 429
