"""``bench/reader_probe.py``: out-of-fold reader scores and their report (no training here)."""

from __future__ import annotations

import random
import re

import numpy as np


def test_articles_fall_into_every_fold_and_stay_there() -> None:
    from bench.reader_probe import fold_of

    questions = [{"set": s, "article": f"a{i}"} for s in ("cmrc", "drcd") for i in range(60)]
    folds = [fold_of(q, 3) for q in questions]
    assert set(folds) == {0, 1, 2}
    assert folds == [fold_of(dict(q), 3) for q in questions]  # a digest, not a draw


def test_batches_cover_every_pair_once() -> None:
    from bench.reader_probe import _batches

    items = [(i, "问" * (i % 7), "答" * (i % 11), 0.0) for i in range(1000)]
    for rng in (None, random.Random(0)):
        batches = _batches(list(items), 16, rng)
        assert sorted(x[0] for b in batches for x in b) == list(range(1000))
        assert all(len(b) <= 16 for b in batches)
    scoring = [len(x[1]) + len(x[2]) for b in _batches(list(items), 16, None) for x in b]
    assert scoring == sorted(scoring)  # length-sorted, so padding stays short


def test_report_refits_with_the_reader_columns() -> None:
    from wenda.index.query.fit import FeatureTable

    from bench.reader_probe import report
    from bench.train_answer import TABLE

    table = FeatureTable.load(str(TABLE))
    noise = np.random.default_rng(0).normal(size=len(table.span_question))
    oracle = np.where(table.span_contains, 3.0, -3.0) + noise  # a reader that knows
    text = report(table, oracle, seeds=1)
    holds = _figure(r"holds a gold answer for ([0-9]+\.[0-9]+)", text)
    auc = _figure(r"AUC ([0-9]+\.[0-9]+)", text)
    assert holds > 0.9 and auc > 0.95
    rows = [line for line in text.splitlines() if line.startswith("| ")][1:]
    shipped, reader = (r.split(" | ")[1].split(" / ") for r in rows if "---" not in r)
    assert float(reader[0]) > float(shipped[0]) + 0.1  # the gate uses the column


def _figure(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, pattern
    return float(match.group(1))
