"""``bench/span_dense.py``: extra span columns compared over several article splits."""

from __future__ import annotations

import json

import numpy as np


def test_resplit_rows_compare_a_variant_split_by_split() -> None:
    from wenda.index.query.fit import FeatureTable

    from bench.span_dense import resplit_rows
    from bench.train_answer import MODEL, TABLE

    table = FeatureTable.load(str(TABLE))
    noise = np.random.default_rng(0).normal(size=len(table.span_question))
    variants = {"shipped": ("late", {}), "+ noise": ("late", {"noise": noise})}
    rows = resplit_rows(table, variants, seeds=1)
    assert [r[0] for r in rows] == ["shipped", "+ noise"]
    held = json.loads(MODEL.read_text("utf-8"))["late"]["held_out"]
    official = [held[f"all_{k}"] for k in ("unanswerable_refused", "answerable_refused")]
    official.append(held["all_answer_accuracy"])
    assert rows[0][1] == " / ".join(f"{v:.3f}" for v in official)
    assert rows[0][3] == " / ".join(["+0.000 (+0.000..+0.000)"] * 3)  # against itself
    assert rows[1][1] != rows[0][1] or rows[1][2] != rows[0][2]  # the column is used
