"""Follow-up rewriting: elliptical questions resolved, stand-alone questions untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
from wenda.index.core import Wenda
from wenda.index.query.followup import resolve_followup, topic_phrase
from wenda.index.settings import Settings
from wenda.index.store.lexical import ChineseTokenizer

from bench.followup import load_pairs, report, run


@pytest.fixture(scope="module")
def tok() -> ChineseTokenizer:
    return ChineseTokenizer()


def test_place_substitution(tok: ChineseTokenizer) -> None:
    first = "川渝两地住院费用直接结算的定点医疗机构有多少家？"
    out = resolve_followup([first], "那重庆呢？", tok)
    assert "重庆" in out and "住院费用" in out and "川渝" not in out


def test_ordinal_substitution(tok: ChineseTokenizer) -> None:
    out = resolve_followup(["第一批川渝通办事项计划什么时候全部实现？"], "第二批呢？", tok)
    assert out == "第二批川渝通办事项计划什么时候全部实现？"


def test_swapped_places_replace_the_shared_span(tok: ChineseTokenizer) -> None:
    out = resolve_followup(["重庆在四川投资的民营企业有多少家？"], "那四川在重庆呢？", tok)
    assert out == "四川在重庆投资的民营企业有多少家？"


def test_pronoun_becomes_previous_topic(tok: ChineseTokenizer) -> None:
    out = resolve_followup(["成达万高铁的可研报告由哪个部门批复？"], "它是哪天批复的？", tok)
    assert out.startswith("成达万高铁") and "它" not in out


def test_aspect_question_gets_the_previous_subject(tok: ChineseTokenizer) -> None:
    out = resolve_followup(["第六届中国诗歌节在哪里开幕？"], "在哪里闭幕？", tok)
    assert out.endswith("在哪里闭幕？") and "诗歌" in out


def test_chain_resolves_each_turn_against_the_resolved_one(tok: ChineseTokenizer) -> None:
    history = [
        "截至5月19日，重庆各区县为两地群众办理跨省市户口迁移多少人次？",
        "其中迁入重庆多少人次？",
    ]
    out = resolve_followup(history, "迁入四川呢？", tok)
    assert "迁入四川" in out and "人次" in out


def test_no_history_or_blank_history_leaves_question(tok: ChineseTokenizer) -> None:
    q = "那重庆呢？"
    assert resolve_followup([], q, tok) is q
    assert resolve_followup(["", "  "], q, tok) is q


@pytest.mark.parametrize(
    "question",
    [
        "那么多省际公交线路中，第9条是哪天开通的？",  # starts with 那 but stands alone
        "川渝首例跨区域钻井行业危险废物污染环境案抓获了多少名犯罪嫌疑人呢？",  # long …呢
        "重庆首批定点医疗机构有多少家？",
    ],
)
def test_stand_alone_questions_are_returned_unchanged(tok: ChineseTokenizer, question: str) -> None:
    assert (
        resolve_followup(["中欧班列（成渝）号今年1—4月开行了多少列？"], question, tok) is question
    )


def test_every_control_of_the_bench_set_is_unchanged(tok: ChineseTokenizer) -> None:
    controls = [t for t in load_pairs() if t.kind == "standalone"]
    assert len(controls) >= 15
    for t in controls:
        assert resolve_followup(t.history, t.question, tok) == t.question, t.id


def test_most_bench_followups_are_rewritten(tok: ChineseTokenizer) -> None:
    followups = [t for t in load_pairs() if t.kind != "standalone"]
    rewritten = [t for t in followups if resolve_followup(t.history, t.question, tok) != t.question]
    assert len(followups) >= 30
    assert len(rewritten) >= 0.7 * len(followups)


def test_topic_phrase_stops_at_the_predicate(tok: ChineseTokenizer) -> None:
    assert topic_phrase("双城经济圈科创母基金的总规模是多少？", tok) == "双城经济圈科创母基金"
    assert topic_phrase("是多少？", tok) == ""


@pytest.mark.model
def test_rewrite_helps_retrieval_with_the_default_model(tmp_path: Path, seed_corpus: Path) -> None:
    """The bench measurement, end to end on the real model: better, and controls untouched."""
    settings = Settings(_env_file=None, corpus_dir=seed_corpus, index_dir=tmp_path / "idx")
    core = Wenda.open(settings)
    try:
        figures = run(core, load_pairs())
    finally:
        core.close()
    assert figures["controls_unchanged"] == figures["controls"]
    assert figures["control_with"] == figures["control_without"]
    with_, without = figures["followup_with"], figures["followup_without"]
    assert with_["hit@1"] > without["hit@1"]
    assert with_["answer_accuracy"] > without["answer_accuracy"]


def test_bench_runs_on_the_test_embedder(hashing_settings: Settings) -> None:
    core = Wenda.open(hashing_settings)
    try:
        figures = run(core, load_pairs())
    finally:
        core.close()
    assert figures["followups"] == 33 and figures["controls"] == 16
    assert figures["controls_unchanged"] == 16
    assert "follow-ups rewritten" in report(figures, "hashing")
