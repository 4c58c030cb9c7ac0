"""Feedback store: votes with their context, survive rebuilds, list and export via the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wenda.index.cli import main
from wenda.index.core import Wenda
from wenda.index.evaluation import load_jsonl
from wenda.index.feedback import (
    FEEDBACK_FILE,
    FeedbackStore,
    InvalidFeedbackError,
    cited_chunk_ids,
)
from wenda.index.settings import Settings


@pytest.fixture
def core(hashing_settings: Settings):
    wenda = Wenda.open(hashing_settings)
    yield wenda
    wenda.close()


def test_vote_on_a_real_answer_keeps_its_context(core: Wenda, hashing_settings: Settings) -> None:
    answer = core.ask("中欧班列（成渝）号今年1—4月开行了多少列？")
    store = FeedbackStore.in_index_dir(hashing_settings.index_dir)
    rec = store.add_answer("down", "它开行了多少列？", answer, source="bot")
    assert rec.vote == "down" and rec.source == "bot"
    assert rec.question == "它开行了多少列？" and rec.resolved_question == answer.question
    assert rec.answer == answer.answer and rec.index_version == core.version
    cited = [p for p in answer.passages if f"[{p.n}]" in answer.answer]
    assert list(rec.chunk_ids) == [p.chunk_id for p in cited] and rec.chunk_ids
    assert rec.created_at.endswith("+00:00")
    assert store.get(rec.id) == rec


def test_refusal_cites_nothing(core: Wenda) -> None:
    answer = core.ask("2023年四川省的GDP总量是多少？")
    if not answer.answerable:
        assert cited_chunk_ids(answer) == []


def test_votes_survive_a_rebuild(core: Wenda, hashing_settings: Settings) -> None:
    store = FeedbackStore.in_index_dir(hashing_settings.index_dir)
    store.add("up", "问题一", "回答一", [1, 2], core.version, "web")
    (hashing_settings.corpus_dir / "new.txt").write_text("新增文档。成都到重庆的高铁。", "utf-8")
    report = core.reindex()
    (hashing_settings.corpus_dir / "new.txt").unlink()
    core.reindex()
    assert report.published
    again = FeedbackStore(hashing_settings.index_dir / FEEDBACK_FILE)
    assert [r.question for r in again.records()] == ["问题一"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"vote": "maybe"}, "vote"),
        ({"question": "  "}, "question"),
        ({"chunk_ids": ["x"]}, "chunk_ids"),
        ({"answer": "长" * 30_000}, "answer"),
    ],
)
def test_bad_votes_are_rejected_with_the_field(tmp_path: Path, kwargs, field: str) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite")
    args = {"vote": "up", "question": "问题", "answer": "回答", **kwargs}
    with pytest.raises(InvalidFeedbackError) as info:
        store.add(**args)
    assert info.value.field == field
    assert store.records() == []


def test_cli_lists_json_and_exports_down_votes(
    hashing_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = FeedbackStore.in_index_dir(hashing_settings.index_dir)
    store.add("up", "成达万高铁何时批复？", "11月4日。[1]", [7], "v1", "bot")
    store.add("down", "那重庆呢？", "资料中没有找到相关内容。", [], "v1", "web", "重庆住院费用？")
    argv = ["--index-dir", str(hashing_settings.index_dir), "feedback"]

    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "👍" in out and "👎" in out and "那重庆呢？ (→ 重庆住院费用？)" in out

    assert main([*argv, "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["vote"] for r in lines] == ["up", "down"]
    assert lines[0]["chunk_ids"] == [7] and lines[0]["index_version"] == "v1"

    target = tmp_path / "review" / "down.jsonl"
    assert main([*argv, "--export", str(target)]) == 0
    assert "1" in capsys.readouterr().out
    items = load_jsonl(target)  # the eval loader reads it as it reads seeds_dev.jsonl
    assert [i.question for i in items] == ["重庆住院费用？"]
    row = json.loads(target.read_text("utf-8"))
    assert row["asked"] == "那重庆呢？" and row["answers"] == []


@pytest.mark.model
def test_vote_and_export_with_the_default_model(
    tmp_path: Path, seed_corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(_env_file=None, corpus_dir=seed_corpus, index_dir=tmp_path / "idx")
    core = Wenda.open(settings)
    try:
        answer = core.ask("川渝两地住院费用直接结算的定点医疗机构有多少家？")
        store = FeedbackStore.in_index_dir(settings.index_dir)
        rec = store.add_answer("down", answer.question, answer, source="bot")
    finally:
        core.close()
    assert answer.answerable and rec.chunk_ids
    assert rec.chunk_ids[0] == next(
        p.chunk_id for p in answer.passages if p.answer_start is not None
    )
    target = tmp_path / "down.jsonl"
    assert main(["--index-dir", str(settings.index_dir), "feedback", "--export", str(target)]) == 0
    assert [i.question for i in load_jsonl(target)] == [answer.question]
