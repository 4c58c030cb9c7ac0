"""Late-chunked span cosines from stored sentence states."""

from __future__ import annotations

import numpy as np
from wenda.index.embedding.sentence_states import pack, unpack
from wenda.index.models import Chunk
from wenda.index.query.late import late_columns, sentence_scores

TEXT = "馆长是林晓雯。馆藏图书三十万册。开放时间为每天九点。"


def _states(rows: int, dim: int = 8) -> np.ndarray:
    return np.random.default_rng(rows).standard_normal((rows, dim)).astype(np.float32) * 3


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_a_span_cosine_is_the_cosine_of_its_sentences_summed_state() -> None:
    states = _states(3)
    chunk = Chunk("d.md", "t", "", 0, len(TEXT), TEXT, states=pack(states))
    q = _unit(np.arange(1, 9, dtype=np.float32))
    scores = sentence_scores(chunk, q)
    assert scores is not None
    stored = unpack(chunk.states, 8, 3)  # as stored (int8 with a scale per sentence)
    assert stored is not None
    pieces = ((0, 0), (1, 1), (2, 2), (0, 1), (1, 2))
    many = scores.cosines(np.array([i for i, _ in pieces]), np.array([j for _, j in pieces]))
    for (i, j), got in zip(pieces, many, strict=True):
        expected = float(_unit(stored[i : j + 1].sum(axis=0)) @ q)
        assert not np.isnan(got) and abs(got - expected) < 1e-5


def test_no_states_or_states_of_another_text_give_no_scores() -> None:
    q = _unit(np.ones(8, np.float32))
    assert sentence_scores(Chunk("d.md", "t", "", 0, len(TEXT), TEXT), q) is None
    two = Chunk("d.md", "t", "", 0, len(TEXT), TEXT, states=pack(_states(2)))
    assert sentence_scores(two, q) is None  # three sentences, two states
    empty = Chunk("d.md", "t", "", 0, len(TEXT), TEXT, states=pack(np.zeros((3, 8))))
    scores = sentence_scores(empty, q)
    assert scores is not None and np.isnan(scores.cosines(np.array([0]), np.array([1]))).all()


def test_late_columns_give_gap_to_the_best_and_fill_gaps_with_the_worst() -> None:
    got = late_columns(np.array([0.8, np.nan, 0.9]))
    assert np.allclose(got, [[0.8, 0.8 - 0.9, 0.9], [0.8, 0.8 - 0.9, 0.9], [0.9, 0.0, 0.9]])
    assert (late_columns(np.array([np.nan, np.nan])) == 0.0).all()
