"""The question read against one passage: the per-passage half of the span features."""

from __future__ import annotations

import numpy as np
from wenda.index.models import Chunk
from wenda.index.query.features import SPAN_FEATURES, candidate_spans
from wenda.index.query.passages import passage_view, read_passage
from wenda.index.query.pipeline import match_form as match
from wenda.index.query.question import Question, read_question
from wenda.index.query.span_features import ACROSS_PASSAGES, PASSAGE_LEVEL
from wenda.index.store.lexical import ChineseTokenizer

TEXT = "图书馆藏书十万册。现任馆长为林晓雯。她曾在北京工作。图书馆每周一闭馆。"
OTHER = "博物馆馆长是王强。博物馆藏品三千件。"


def _question(text: str) -> Question:
    tok = ChineseTokenizer()
    idf = {"馆长": 3.0, "图书馆": 2.0}
    return read_question(text, tok.query_terms(text), lambda t: idf.get(t, 1.0), match)


def _chunk(text: str) -> Chunk:
    return Chunk("d.txt", "标题", "", 0, len(text), text)


def test_a_reading_holds_every_feature_but_the_passage_level_ones() -> None:
    """What ``candidate_spans`` assembles equals the reading, column for column, except
    the passage's own columns and those that depend on the other top passages."""
    q = _question("图书馆馆长是谁？")
    chunks = [_chunk(TEXT), _chunk(OTHER)]
    spans = candidate_spans(q, chunks, [1.0, 0.5], [0.8, 0.7], match)
    readings = [read_passage(q, passage_view(c, match)) for c in chunks]
    own = [
        i for i, name in enumerate(SPAN_FEATURES) if name not in (*PASSAGE_LEVEL, *ACROSS_PASSAGES)
    ]
    for span in spans:
        reading = readings[span.passage]
        k = next(
            k
            for k, p in enumerate(reading.view.pieces)
            if p.start == span.start and p.end == span.end
        )
        assert np.allclose(np.asarray(span.features)[own], reading.rows[k, own], atol=1e-12)
    # the same spans whether the readings were made ahead or by candidate_spans itself
    ahead = candidate_spans(q, chunks, [1.0, 0.5], [0.8, 0.7], match, readings=readings)
    assert [s.features for s in ahead] == [s.features for s in spans]


def test_neighbour_coverage_is_the_sentence_before_and_after_within_the_passage() -> None:
    q = _question("图书馆馆长是谁？")
    reading = read_passage(q, passage_view(_chunk(TEXT), match))
    col = {name: SPAN_FEATURES.index(name) for name in ("cov", "cov_prev", "cov_next")}
    singles = [(k, p) for k, p in enumerate(reading.view.pieces) if p.i == p.j]
    cov = {p.i: reading.rows[k, col["cov"]] for k, p in singles}
    for k, p in singles:
        assert reading.rows[k, col["cov_prev"]] == (cov[p.i - 1] if p.i > 0 else 0.0)
        last = p.j + 1 >= len(reading.view.folded)
        assert reading.rows[k, col["cov_next"]] == (0.0 if last else cov[p.j + 1])
    assert cov[1] > cov[2]  # "现任馆长为林晓雯" holds 馆长, "她曾在北京工作" nothing


def test_a_passage_without_candidate_sentences_reads_as_empty() -> None:
    q = _question("图书馆馆长是谁？")
    reading = read_passage(q, passage_view(_chunk("短。"), match))
    assert reading.rows.shape == (0, len(SPAN_FEATURES))
    assert reading.in_span.shape == (0, len(q.terms))
    assert candidate_spans(q, [_chunk("短。")], [1.0], [None], match) == []
