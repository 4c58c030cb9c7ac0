"""The question pipeline end to end on the seed corpus (hashing embedder: fast, real index)."""

from __future__ import annotations

import pytest
from wenda.index.core import Wenda
from wenda.index.query.answer import (
    ASK_IN_CHINESE,
    NO_CONTENT_REASON,
    NO_TERMS_REASON,
    Candidate,
    Decision,
)
from wenda.index.query.pipeline import STAGES
from wenda.index.query.question import Question
from wenda.index.settings import Settings


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Wenda:
    import shutil

    from tests.conftest import SEED_CORPUS

    root = tmp_path_factory.mktemp("pipeline")
    shutil.copytree(SEED_CORPUS, root / "corpus")
    settings = Settings(
        _env_file=None,
        corpus_dir=root / "corpus",
        index_dir=root / "idx",
        model="hashing",
        reload_check_seconds=3600.0,
    )
    wenda = Wenda.open(settings)
    yield wenda
    wenda.close()


def test_stages_are_timed_and_candidates_carry_every_score(core: Wenda) -> None:
    result = core.run_pipeline("川渝两地住院费用直接结算的定点医疗机构有多少家？", 5)
    assert list(result.timings) == list(STAGES)
    assert all(v >= 0 for v in result.timings.values())
    assert len(result.candidates) == 5
    top = result.candidates[0]
    assert top.dense_score is not None and top.span_score is not None
    assert "5182家" in top.chunk.text
    answer = result.to_answer()
    assert answer.answerable and "5182家" in answer.answer
    assert answer.reason is None and answer.missing == []


def test_ask_is_the_pipeline(core: Wenda) -> None:
    question = "中欧班列（成渝）号今年1—4月开行了多少列？"
    via_ask = core.ask(question).to_dict()
    via_run = core.run_pipeline(question).to_answer().to_dict()
    assert via_ask == via_run


def test_answer_offsets_cover_the_answer_span(core: Wenda) -> None:
    answer = core.ask("川渝两地住院费用直接结算的定点医疗机构有多少家？")
    cited = [p for p in answer.passages if p.answer_start is not None]
    assert cited
    body = answer.answer.rsplit("[", 1)[0]
    for p in cited:
        assert " ".join(p.text[p.answer_start : p.answer_end].split()) == body


def test_keyword_is_a_search_not_a_question(core: Wenda) -> None:
    answer = core.ask("川渝")
    assert not answer.answerable
    assert answer.passages  # the search results are still listed
    assert answer.reason and "完整的问题" in answer.reason
    assert all(p.answer_start is None for p in answer.passages)


@pytest.mark.parametrize("query", ["是", "的的", "<", "——"])
def test_input_with_nothing_to_search_for_asks_for_the_subject(core: Wenda, query: str) -> None:
    """Not "“是”像是关键词……例如“是是什么？”": a function word or a mark is no keyword."""
    answer = core.ask(query)
    assert not answer.answerable and answer.passages
    assert answer.reason == NO_CONTENT_REASON.format(query=query)
    assert f"{query}是什么" not in answer.reason


def test_a_long_keyword_is_echoed_cut_short(core: Wenda) -> None:
    answer = core.ask("《" * 300 + "川渝")
    assert answer.reason and answer.reason.startswith("“" + "《" * 19 + "…”")


def test_a_question_without_chinese_is_asked_to_try_chinese(core: Wenda) -> None:
    answer = core.ask("How many hospitals in Sichuan and Chongqing support direct settlement?")
    assert not answer.answerable and answer.reason
    assert answer.reason.endswith(ASK_IN_CHINESE) and "hospitals" in answer.reason
    assert not core.ask("2023年四川省的GDP总量是多少？").reason.endswith(ASK_IN_CHINESE)


def test_refusal_names_what_is_missing(core: Wenda) -> None:
    answer = core.ask("2023年四川省的GDP总量是多少？")
    assert not answer.answerable
    assert answer.passages  # closest passages
    assert answer.reason and "gdp" in answer.reason.lower()
    assert "2023" in answer.missing
    data = answer.to_dict()
    assert data["reason"] == answer.reason and data["missing"] == answer.missing


@pytest.mark.parametrize("question", ["哪一年？", "是什么？", "何时何处？"])
def test_a_question_of_only_question_words_asks_for_the_subject(core: Wenda, question: str) -> None:
    answer = core.ask(question)
    assert not answer.answerable
    assert answer.reason == NO_TERMS_REASON and answer.answer == NO_TERMS_REASON
    assert answer.passages  # still listed as the closest passages


def test_a_composer_replaces_the_compose_stage(core: Wenda) -> None:
    seen: list[tuple[Question, int]] = []

    def refuse_all(q: Question, candidates: list[Candidate]) -> Decision:
        seen.append((q, len(candidates)))
        return Decision(False, 0.0, reason="测试")

    result = core.run_pipeline("双城经济圈科创母基金的总规模是多少？", 3, composer=refuse_all)
    assert not result.decision.answerable and result.to_answer().reason == "测试"
    assert seen[0][0].answer_type == "count" and seen[0][1] == 3


def test_lexical_side_runs_on_a_helper_thread_beside_the_encode(
    core: Wenda, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    seen: list[str] = []
    real = core.pipeline.tokenizer.query_terms

    def spy(text: str) -> list[str]:
        seen.append(threading.current_thread().name)
        return real(text)

    monkeypatch.setattr(core.pipeline.tokenizer, "query_terms", spy)
    question = "川渝两地住院费用直接结算的定点医疗机构有多少家？"
    hybrid = core.run_pipeline(question, 5)
    lexical_only = core.run_pipeline(question, 5, mode="bm25")
    assert seen[0].startswith("wenda-lexical") and seen[1] == threading.current_thread().name
    assert hybrid.question == lexical_only.question  # the same reading either way
    assert hybrid.timings["analyse"] > 0


def test_a_failing_lexical_side_fails_the_question(
    core: Wenda, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str) -> list[str]:
        raise RuntimeError("tokenizer broke")

    monkeypatch.setattr(core.pipeline.tokenizer, "query_terms", broken)
    with pytest.raises(RuntimeError, match="tokenizer broke"):
        core.ask("川渝两地住院费用直接结算的定点医疗机构有多少家？")


def test_passages_read_during_the_encode_give_the_same_answer(
    core: Wenda, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lexical top passages are read against the question ahead (``READ_AHEAD``); compose
    then assembles, and must decide exactly as if it had read every passage itself."""
    import wenda.index.query.pipeline as pipeline_module

    real = pipeline_module.compose
    checked: list[int] = []

    def both_ways(
        q: Question, candidates: list[Candidate], *args: object, **kw: object
    ) -> Decision:
        readings = kw.pop("readings")
        assert isinstance(readings, dict)
        ahead = real(q, candidates, *args, readings=readings, **kw)  # type: ignore[arg-type]
        fresh = real(q, candidates, *args, **kw)  # type: ignore[arg-type]
        assert ahead.evidence is not None and fresh.evidence is not None
        assert [s.features for s in ahead.evidence.spans] == [
            s.features for s in fresh.evidence.spans
        ]
        assert (ahead.answer, ahead.support, ahead.reason) == (
            fresh.answer,
            fresh.support,
            fresh.reason,
        )
        checked.append(sum(c.chunk_id in readings for c in candidates[:3]))
        return ahead

    monkeypatch.setattr(pipeline_module, "compose", both_ways)
    for question in (
        "川渝两地住院费用直接结算的定点医疗机构有多少家？",
        "成达万高铁何时获得批复？",
        "重庆的市长是谁？",
    ):
        core.ask(question)
    assert len(checked) == 3 and sum(checked) > 0  # some top passages were read ahead


def test_no_chunk_record_is_read_twice_per_question(core: Wenda) -> None:
    """The fetch stage takes what the read-ahead already read (on Milvus each read is a
    query), and reads the rest once."""
    calls: list[list[int]] = []
    with core._readers.lease() as reader:  # the version the pipeline would lease itself

        class CountingReader:
            def __getattr__(self, name: str) -> object:
                return getattr(reader, name)

            def chunks(self, ids: list[int]) -> dict:
                calls.append(list(ids))
                return reader.chunks(ids)

        result = core.pipeline.run(
            CountingReader(), "川渝两地住院费用直接结算的定点医疗机构有多少家？", 5
        )
    read = [i for call in calls for i in call]
    assert len(read) == len(set(read)), calls
    assert {c.chunk_id for c in result.candidates} <= set(read)
    assert result.to_answer().answerable
