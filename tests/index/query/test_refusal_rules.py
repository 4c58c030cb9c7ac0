"""Refusal rules measured on the feature table: what they refuse, and which are admitted."""

from __future__ import annotations

import numpy as np
from wenda.index.query.fit import FeatureTable, span_targets
from wenda.index.query.refusal_rules import (
    RULE_ANSWERABLE_BUDGET,
    TYPE_RULE_FAMILIES,
    type_missing,
    type_rule_family,
)
from wenda.index.query.span_features import SPAN_FEATURES


def _typed_table(
    types: list[str], misses: list[bool], answerable: list[bool], holds: list[bool]
) -> FeatureTable:
    """One span per question; its type_miss column set by ``misses``, whether it holds the
    gold answer by ``holds``."""
    n = len(types)
    x = np.zeros((n, len(SPAN_FEATURES)))
    x[:, SPAN_FEATURES.index("type_miss")] = misses
    return FeatureTable(
        span_x=x,
        span_gold=np.zeros(n, bool),
        span_contains=np.array(holds),
        span_question=np.arange(n),
        span_passage=np.zeros(n, np.int8),
        span_start=np.zeros(n, np.int32),
        span_end=np.ones(n, np.int32),
        span_chars=np.ones(n, np.int32),
        q_answerable=np.array(answerable),
        q_fit=np.ones(n, bool),
        q_best_cos=np.zeros(n),
        q_union_cov=np.ones(n),
        q_typed=np.array([bool(t) for t in types]),
        q_terms=np.ones(n, np.int32),
        q_dataset=np.array(["s"] * n),
        q_type=np.array(types),
    )


def test_the_type_rule_takes_the_widest_type_family_within_the_budget() -> None:
    """Names (POS-tagged) miss true answers, so a family with them costs too many correct
    answers; the pattern-recognized types alone stay within the budget. A refusal of an
    answerable question whose chosen span is wrong anyway costs nothing."""
    answerable = 400
    types = ["person"] * 10 + ["year"] * 10 + [""] * (answerable - 20) + ["money"] * 5
    misses = [True] * 4 + [False] * 6 + [True] * 3 + [False] * 7 + [False] * (answerable - 20)
    misses += [True] * 5
    holds = [True] * 10 + [True] + [False] * 2 + [True] * 7 + [True] * (answerable - 20)
    holds += [False] * 5  # year misses: one correct answer lost, two wrong answers refused
    table = _typed_table(types, misses, [True] * answerable + [False] * 5, holds)
    chosen = np.arange(len(types))
    wide, patterns = TYPE_RULE_FAMILIES[0], TYPE_RULE_FAMILIES[1]
    assert type_missing(table, chosen, wide)[:answerable].mean() > RULE_ANSWERABLE_BUDGET
    assert type_missing(table, chosen, patterns)[:answerable].mean() > RULE_ANSWERABLE_BUDGET
    assert type_rule_family(table, chosen, span_targets(table)) == patterns
    assert "person" not in patterns
    refused = type_missing(table, chosen, patterns)
    assert refused[answerable:].all() and refused[:answerable].sum() == 3  # the year misses
    assert not type_missing(table, chosen, None).any()
    assert not type_missing(table, np.full(len(types), -1), patterns).any()  # no span chosen
