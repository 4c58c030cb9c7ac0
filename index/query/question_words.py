"""Question words learned from data: tokens that questions use and documents almost never do.

Why: "何时", "哪一年", "甚么", "有何" are how a question asks, not what it is about, and an
answer sentence replaces them with the answer. Counted as question terms they lowered every
answer's coverage and showed up in refusals ("资料中没有找到“何时”…"). The stopword list
cannot keep up with such forms (traditional script, 哪一位/哪一条/哪边…), so they are
counted instead: a token is a question word when questions from at least
``MIN_ARTICLES`` different articles use it and its share of questions is at least
``MIN_RATIO`` times its share of document sentences (add-one smoothed). Topic words that
questions abbreviate ("中国科大") come from one article and stay out.

``bench/train_answer.py question-words`` derives the shipped list from the fit split of
CMRC 2018 trial + DRCD; a test re-derives it and compares.
"""

from __future__ import annotations

import functools
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from importlib import resources
from typing import Any

from wenda.index.ingest.sentences import split_sentences
from wenda.index.store.lexical import ChineseTokenizer

WORDS_FILE = "question_words.json"
MIN_ARTICLES = 5
MIN_RATIO = 10.0


def derive(
    questions: Iterable[tuple[str, str]], documents: Iterable[str], tokenizer: ChineseTokenizer
) -> dict[str, Any]:
    """The question-word list (and its counts) from ``(article, question)`` pairs and the
    documents they were asked about."""
    in_questions: Counter[str] = Counter()
    articles: defaultdict[str, set[str]] = defaultdict(set)
    n_questions = 0
    for article, question in questions:
        n_questions += 1
        for term in set(tokenizer.query_terms(question)):
            in_questions[term] += 1
            articles[term].add(article)
    in_sentences: Counter[str] = Counter()
    n_sentences = 0
    for text in documents:
        for start, end in split_sentences(text):
            n_sentences += 1
            in_sentences.update(set(tokenizer.tokens(text[start:end])))
    words = {}
    for term, count in in_questions.items():
        ratio = ((count + 1) / (n_questions + 1)) / ((in_sentences[term] + 1) / (n_sentences + 1))
        if len(articles[term]) >= MIN_ARTICLES and ratio >= MIN_RATIO:
            words[term] = [count, in_sentences[term]]
    return {
        "words": dict(sorted(words.items())),  # term -> [questions, sentences] holding it
        "questions": n_questions,
        "sentences": n_sentences,
        "min_articles": MIN_ARTICLES,
        "min_ratio": MIN_RATIO,
    }


@functools.lru_cache(maxsize=1)
def shipped_question_words() -> frozenset[str]:
    """The list in the package (read once)."""
    text = resources.files("wenda.index.query").joinpath(WORDS_FILE).read_text("utf-8")
    return frozenset(json.loads(text)["words"])
