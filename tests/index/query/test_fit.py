"""The answer model's fit: sane on synthetic data, and the shipped file is what it produces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from wenda.index.query.fit import fit_gate, fit_span_model
from wenda.index.query.model import ShippedModels

REPO = Path(__file__).resolve().parents[3]


def test_span_model_learns_which_feature_marks_the_answer() -> None:
    rng = np.random.default_rng(0)
    groups, xs, golds = [], [], []
    start = 0
    for _ in range(200):
        n = 6
        x = rng.normal(size=(n, 3))
        answer = int(rng.integers(n))
        x[answer, 0] += 2.0  # feature 0 marks the answer, features 1-2 are noise
        xs.append(x)
        golds.append(np.arange(n) == answer)
        groups.append(np.arange(start, start + n))
        start += n
    x, gold = np.vstack(xs), np.concatenate(golds)
    from wenda.index.query import fit as fit_module

    features = fit_module.SPAN_FEATURES
    wide = np.zeros((len(x), len(features)))
    wide[:, :3] = x
    model = fit_span_model(wide, gold, groups)
    w = np.array(model.weights)
    assert w[0] > 1.0 and abs(w[1]) < 0.5 and abs(w[2]) < 0.5
    picked = [int(np.argmax(model.score(wide[g]))) for g in groups]
    accuracy = np.mean([gold[g][p] for g, p in zip(groups, picked, strict=True)])
    assert accuracy > 0.7


def test_gate_is_balanced_logistic_regression() -> None:
    rng = np.random.default_rng(1)
    from wenda.index.query.model import GATE_FEATURES

    x = rng.normal(size=(600, len(GATE_FEATURES)))
    y = x[:, 0] + 0.3 * rng.normal(size=600) > 0.8  # imbalanced: about a fifth positive
    gate = fit_gate(x, y)
    p = 1 / (1 + np.exp(-gate.score(x)))
    tpr, tnr = (p[y] >= 0.5).mean(), (p[~y] < 0.5).mean()
    assert tpr > 0.85 and tnr > 0.85
    assert np.argmax(np.abs(gate.weights)) == 0


def test_shipped_model_is_what_the_script_fits_from_the_committed_table(tmp_path: Path) -> None:
    from bench.train_answer import MODEL, TABLE, fit

    out = tmp_path / "answer_model.json"
    fit(TABLE, out)
    assert json.loads(out.read_text("utf-8")) == json.loads(MODEL.read_text("utf-8"))
    ShippedModels.load()  # the packaged copy parses


def test_shipped_model_records_its_held_out_figures() -> None:
    """The fit records its figures on held-out articles only (quoted in the README)."""
    shipped = json.loads((REPO / "index" / "query" / "answer_model.json").read_text("utf-8"))
    assert shipped["data"]["held_out_questions"] > 0
    for variant in ("late", "dense", "lexical"):
        held = shipped[variant]["held_out"]
        assert held["all_answerable"] > 0 and held["all_unanswerable"] > 0
        for key in ("unanswerable_refused", "answerable_refused", "answer_accuracy"):
            assert 0.0 <= held[f"all_{key}"] <= 1.0


def test_span_targets_are_every_short_span_holding_the_answer() -> None:
    """A pair of sentences holding the answer is a positive too (so pairs get chosen where
    the answer may sit next door); a span over the answer length limit never is."""
    from types import SimpleNamespace

    from wenda.index.query.fit import MAX_ANSWER_CHARS, span_targets

    table = SimpleNamespace(
        span_contains=np.array([True, True, False, True]),
        span_chars=np.array([40, 90, 50, MAX_ANSWER_CHARS + 1]),
    )
    assert span_targets(table).tolist() == [True, True, False, False]  # type: ignore[arg-type]
