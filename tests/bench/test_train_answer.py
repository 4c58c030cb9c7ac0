"""``bench/train_answer.py resplit``: the shipped design on other random article splits."""

from __future__ import annotations

import json


def test_resplit_reproduces_the_official_split_and_scores_another() -> None:
    from bench.train_answer import MODEL, TABLE, in_fit_split, resplit, table_articles

    names = ["cmrc", "drcd"]
    text, figures = resplit(TABLE, names, seeds=1)
    shipped = json.loads(MODEL.read_text("utf-8"))["late"]["held_out"]
    official, other = figures
    assert official == shipped  # the official split is the shipped model's own held-out
    articles = table_articles(names)
    held = sum(not in_fit_split(name, article, 1) for name, article in articles)
    assert other["all_answerable"] + other["all_unanswerable"] == held
    assert other["all_answerable"] != official["all_answerable"]  # a different split
    assert "20261201 (official)" in text and "mean ± sd of seeds 1-1" in text
