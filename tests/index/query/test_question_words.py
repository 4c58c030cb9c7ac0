"""The learned question words: derived by a rule over data, shipped, and kept out of terms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wenda.index.query.pipeline import match_form
from wenda.index.query.question import read_question
from wenda.index.query.question_words import (
    WORDS_FILE,
    derive,
    shipped_question_words,
)
from wenda.index.store.lexical import ChineseTokenizer

SHARED_EVAL = Path(__file__).resolve().parents[4] / "shared" / "eval"
SHIPPED = Path(__file__).resolve().parents[3] / "index" / "query" / WORDS_FILE


def test_derive_keeps_forms_many_articles_ask_with_and_documents_lack() -> None:
    questions = [(f"a{i}", f"第{i}座桥是何时建成的？") for i in range(6)]
    questions += [("a0", "中国科大在哪？")] * 6  # one article's abbreviation: not a question word
    documents = [f"第{i}座桥建成于19{i % 10}0年。中国科学技术大学位于合肥。" for i in range(60)]
    words = derive(questions, documents, ChineseTokenizer())["words"]
    assert "何时" in words
    assert "建成" not in words  # documents say it too
    assert "中国科大" not in words


def test_question_words_are_not_answer_terms() -> None:
    tok = ChineseTokenizer()
    question = "天主教傳教士在何時於日本死了26人？"
    terms = tok.query_terms(question)
    assert "何时" in terms  # retrieval still gets it
    q = read_question(question, terms, lambda t: 1.0, match_form, frozenset({"何时"}))
    assert "何时" not in q.terms and "日本" in q.terms
    assert len(q.weights) == len(q.terms)


def test_shipped_list_is_what_the_script_derives() -> None:
    if not (SHARED_EVAL / "drcd_test.json").exists():
        pytest.skip("shared/eval not available")
    from bench.train_answer import question_words

    shipped = json.loads(SHIPPED.read_text("utf-8"))
    assert question_words(["cmrc", "drcd"]) == shipped
    assert shipped_question_words() == frozenset(shipped["words"])
    assert {"何时", "哪一年", "甚么"} <= shipped_question_words()
