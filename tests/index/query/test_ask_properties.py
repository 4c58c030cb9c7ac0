"""Properties of ``Wenda.ask`` on generated questions (hypothesis), real default model, seed
corpus.

Why: a citation is only worth something if it is exact. For any question (fragments of
real questions, question words, numbers, traditional and full-width forms, emoji, stray
whitespace and invisible characters) ``ask`` either raises a domain error with a message
or returns passages that quote their document exactly at their offsets, numbered 1..n, at
most ``top_k``, with in-range scores and answer spans; an answer names the passage it
comes from and that passage holds it; a refusal says why.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from wenda.index.core import Wenda
from wenda.index.errors import WendaError
from wenda.index.models import Answer
from wenda.index.settings import Settings

from tests.conftest import reproducible

pytestmark = pytest.mark.model
CORPUS = Path(__file__).resolve().parents[3] / "corpus"
WORDS = [
    *["中欧班列", "成渝", "重庆", "四川", "开行", "医保", "结算", "会议", "第六次", "高铁"],
    *["多少", "哪天", "什么", "谁", "为什么", "怎么", "几个", "是否", "吗", "那重庆呢", "占比"],
    *["2020年", "1月3日", "1936列", "%", "万人", "亿元", "《", "》", "？", "?", "。"],
    *[" ", "\u3000", "\n", "\t", "\u200b", "\ufeff", "ＡＢＣ", "１２", "臺灣", "開放", "😀"],
    *["a", "the", "票价", "面积"],
]
QUESTION = st.lists(
    st.sampled_from(WORDS) | st.text(min_size=1, max_size=5), min_size=1, max_size=14
).map("".join)
_MARKER = re.compile(r"\[(\d+)\]$")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Wenda, dict[str, str]]]:
    index_dir = tmp_path_factory.mktemp("ask_properties") / "idx"
    core = Wenda.open(Settings(_env_file=None, corpus_dir=CORPUS, index_dir=index_dir))
    with core.lease() as reader:
        texts = {}
        for info in reader.documents():
            stored = reader.document(info.doc_id)
            assert stored is not None
            texts[info.doc_id] = stored.text
    yield core, texts
    core.close()


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)  # an answer joins its paragraphs with one space


def check_answer(answer: Answer, top_k: int, texts: dict[str, str]) -> None:
    assert 0 < len(answer.passages) <= top_k or not texts
    assert [p.n for p in answer.passages] == list(range(1, len(answer.passages) + 1))
    assert 0.0 <= answer.support <= 1.0
    for passage in answer.passages:
        assert texts[passage.doc_id][passage.start : passage.end] == passage.text
        assert 0.0 <= passage.score <= 1.0
        if passage.answer_start is not None or passage.answer_end is not None:
            assert passage.answer_start is not None and passage.answer_end is not None
            assert 0 <= passage.answer_start < passage.answer_end <= len(passage.text)
    if not answer.answerable:
        assert answer.reason
        return
    marker = _MARKER.search(answer.answer)
    assert marker, answer.answer
    cited = answer.passages[int(marker.group(1)) - 1]
    assert cited.answer_start is not None and cited.answer_end is not None
    span = _squash(cited.text[cited.answer_start : cited.answer_end])
    body = _squash(answer.answer[: marker.start()])
    assert span and (span in body or body in _squash(cited.text)), (body, span)


@reproducible(150, HealthCheck.function_scoped_fixture)
@given(question=QUESTION, top_k=st.integers(1, 20))
def test_every_question_gets_exact_citations_or_a_clear_error(
    seeded: tuple[Wenda, dict[str, str]], question: str, top_k: int
) -> None:
    core, texts = seeded
    try:
        answer = core.ask(question, top_k)
    except WendaError as exc:
        assert exc.message  # empty or over-long: refused with a message, never a crash
        return
    check_answer(answer, top_k, texts)


def test_the_properties_hold_on_a_real_answer(seeded: tuple[Wenda, dict[str, str]]) -> None:
    """The check is not vacuous: a known answer passes it, a shifted citation fails it."""
    core, texts = seeded
    answer = core.ask("川渝通办第二批有多少项", 5)
    assert answer.answerable
    check_answer(answer, 5, texts)
    answer.passages[0].start += 1
    with pytest.raises(AssertionError):
        check_answer(answer, 5, texts)
