from __future__ import annotations

import json
import time

import pytest
from wenda.index.builder import build_index
from wenda.index.core import Wenda
from wenda.index.embedding.base import HashingEmbedder
from wenda.index.errors import (
    DocumentNotFoundError,
    IndexNotReadyError,
    InvalidQuestionError,
    InvalidSpanError,
)
from wenda.index.settings import Settings
from wenda.index.store.lexical import ChineseTokenizer

from tests.conftest import PASSAGE_KEYS


@pytest.fixture
def core(hashing_settings: Settings) -> Wenda:
    wenda = Wenda.open(hashing_settings)
    yield wenda
    wenda.close()


def test_ask_result_has_exact_schema_and_is_json(core: Wenda) -> None:
    answer = core.ask("川渝两地住院费用直接结算的定点医疗机构有多少家？", top_k=5)
    data = json.loads(json.dumps(answer.to_dict(), ensure_ascii=False))
    assert set(data) == {"question", "answerable", "answer", "reason", "missing", "passages"}
    assert len(data["passages"]) == 5
    for i, p in enumerate(data["passages"], 1):
        assert set(p) == PASSAGE_KEYS
        assert p["n"] == i
        assert 0.0 <= p["score"] <= 1.0
        full = core.document_text(p["doc_id"])
        assert full[p["start"] : p["end"]] == p["text"]
        if p["answer_start"] is not None:
            assert p["text"][p["answer_start"] : p["answer_end"]] in data["answer"]
    scores = [p["score"] for p in data["passages"]]
    assert scores == sorted(scores, reverse=True)


def test_lexical_side_finds_exact_number(core: Wenda) -> None:
    assert "5182家" in core.ask("5182家", mode="bm25").passages[0].text
    assert any("5182家" in p.text for p in core.ask("5182家", top_k=3).passages)
    assert "成达万高铁" in core.ask("成达万高铁", mode="bm25").passages[0].text


def test_answer_is_a_sentence_of_a_cited_passage(core: Wenda) -> None:
    answer = core.ask("川渝两地住院费用直接结算的定点医疗机构有多少家？")
    assert answer.answerable
    assert "5182家" in answer.answer
    cited = [p for p in answer.passages if p.answer_start is not None]
    assert cited and f"[{cited[0].n}]" in answer.answer


@pytest.mark.parametrize("bad", ["", "   \n\t", "问" * 501, None])
def test_invalid_questions_raise_domain_error(core: Wenda, bad: object) -> None:
    with pytest.raises(InvalidQuestionError) as info:
        core.ask(bad)  # type: ignore[arg-type]
    assert info.value.message


def test_documents_and_spans(core: Wenda) -> None:
    docs = core.documents()
    assert len(docs) == 2 and all(d.chunks > 0 and len(d.content_hash) == 64 for d in docs)
    text = core.document_text(docs[0].doc_id)
    assert core.document_text(docs[0].doc_id, 2, 10) == text[2:10]
    with pytest.raises(DocumentNotFoundError):
        core.document_text("nope.txt")
    with pytest.raises(InvalidSpanError):
        core.document_text(docs[0].doc_id, 5, len(text) + 1)
    status = core.status()
    assert status.documents == 2 and status.chunks == sum(d.chunks for d in docs)
    assert status.dense_index == "flat" and status.model == "hashing-256"


def test_reindex_swaps_in_new_document(core: Wenda, hashing_settings: Settings) -> None:
    before = core.version
    (hashing_settings.corpus_dir / "新闻.txt").write_text(
        "熊猫基地\n成都大熊猫繁育研究基地今年接待游客超过九百万人次。\n", "utf-8"
    )
    report = core.reindex()
    assert report.added == ["新闻.txt"] and core.version == report.version != before
    answer = core.ask("大熊猫繁育研究基地接待了多少游客？")
    assert answer.passages[0].doc_id == "新闻.txt"


def test_hot_reload_picks_up_version_published_elsewhere(
    core: Wenda, hashing_settings: Settings
) -> None:
    before = core.version
    (hashing_settings.corpus_dir / "extra.txt").write_text("补充\n补充材料一句话。\n", "utf-8")
    report = build_index(hashing_settings, HashingEmbedder(), ChineseTokenizer())
    assert report.version != before
    core.ask("补充材料")  # notices the pointer moved; loads in the background
    deadline = time.monotonic() + 10
    while core.version != report.version and time.monotonic() < deadline:
        time.sleep(0.05)
        core.ask("补充材料")
    assert core.version == report.version


def test_open_without_index_and_without_building_is_a_clear_error(tmp_path) -> None:
    settings = Settings(
        _env_file=None, corpus_dir=tmp_path, index_dir=tmp_path / "i", model="hashing"
    )
    with pytest.raises(IndexNotReadyError):
        Wenda.open(settings, build_if_missing=False)


def test_empty_corpus_gives_unanswerable_not_a_crash(tmp_path) -> None:
    (tmp_path / "c").mkdir()
    settings = Settings(
        _env_file=None, corpus_dir=tmp_path / "c", index_dir=tmp_path / "i", model="hashing"
    )
    answer = Wenda.open(settings).ask("有什么？")
    assert not answer.answerable and answer.passages == []


def test_version_built_with_another_model_is_not_switched_to(
    core: Wenda, hashing_settings: Settings
) -> None:
    before = core.version
    other = build_index(hashing_settings, HashingEmbedder(128), ChineseTokenizer())
    assert other.version != before and other.full_rebuild
    assert core.refresh() is False
    assert core.version == before
    assert core.ask("成达万高铁").passages  # still serving the compatible version


def test_an_index_without_sentence_states_serves_and_says_to_rebuild(
    hashing_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.index.test_builder import StatelessEmbedder

    build_index(hashing_settings, StatelessEmbedder(), ChineseTokenizer())
    with caplog.at_level("WARNING", logger="wenda"):
        wenda = Wenda.open(hashing_settings, embedder=HashingEmbedder())
    try:
        assert not wenda.status().sentence_states
        assert any("no sentence states" in r.getMessage() for r in caplog.records)
        assert wenda.ask("成达万高铁何时获得批复？").passages
    finally:
        wenda.close()
    build_index(hashing_settings, HashingEmbedder(), ChineseTokenizer())
    rebuilt = Wenda.open(hashing_settings, embedder=HashingEmbedder())
    try:
        assert rebuilt.status().sentence_states
    finally:
        rebuilt.close()
