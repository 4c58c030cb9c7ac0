"""Refusal rules: checks that refuse whatever the gate says, each admitted by the data.

Why rules beside the gate: some evidence is all but decisive ("2022年" asked, no candidate
holds 2022; a year asked, the sentence chosen holds none), yet rare in the training
questions, so a gate weight would stay small. Each rule is measured on the fit split of
the feature table and kept only while it refuses at most ``RULE_ANSWERABLE_BUDGET`` of
its answerable questions (``fit`` records what each refuses in ``answer_model.json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from wenda.index.query.question import ANSWER_TYPES, ENTITY_TYPES, NUMERIC_TYPES
from wenda.index.query.span_features import SPAN_FEATURES

if TYPE_CHECKING:
    from wenda.index.query.fit import FeatureTable

RULE_ANSWERABLE_BUDGET = 0.005  # a rule may refuse at most this share of fit answerable


def numbers_disagree(table: FeatureTable) -> np.ndarray:
    """Per question: every candidate span lacks one of the question's numbers (the rule
    ``compose`` applies; on the fit data it refuses under 1% of answerable questions and
    about 6% of unanswerable ones, so it is kept as a rule rather than a gate weight)."""
    col = SPAN_FEATURES.index("num_missing")
    return np.array(
        [bool(len(g)) and bool((table.span_x[g, col] > 0).all()) for g in table.groups()]
    )


def focus_unseen(table: FeatureTable, min_log_freq: float | None) -> np.ndarray:
    """Per question: the thing asked about (its focus term, "几座机场" → 机场) is a
    dictionary word with log10(1 + frequency) ≥ ``min_log_freq`` that no document of the
    index holds, so nothing there can answer (the rule ``compose`` applies)."""
    if min_log_freq is None:
        return np.zeros(len(table.q_answerable), dtype=bool)
    col = SPAN_FEATURES.index("focus_unseen")
    return np.array(
        [
            bool(len(g)) and bool(table.span_x[g[0], col] >= max(min_log_freq, 1e-9))
            for g in table.groups()
        ]
    )


def focus_rule_cut(table: FeatureTable) -> float | None:
    """The lowest word frequency (log10 steps of 0.5) at which the unseen-focus rule
    refuses at most ``RULE_ANSWERABLE_BUDGET`` of the fit split's answerable questions
    (segmentation fragments and rare names are unseen in answerable questions too);
    None when no step does."""
    answerable = table.q_fit & table.q_answerable
    for step in range(0, 11):
        cut = step / 2
        if focus_unseen(table, cut)[answerable].mean() <= RULE_ANSWERABLE_BUDGET:
            return cut
    return None


TYPE_RULE_FAMILIES: tuple[frozenset[str], ...] = (
    frozenset(ANSWER_TYPES),
    frozenset(ANSWER_TYPES) - ENTITY_TYPES,  # the types a pattern recognizes (no POS tags)
    NUMERIC_TYPES,
)
"""Candidate type sets for the missing-type rule, widest first."""


def type_missing(
    table: FeatureTable, chosen: np.ndarray, types: frozenset[str] | None
) -> np.ndarray:
    """Per question: it expects a value of one of ``types`` and the span the span model
    chose holds none ("渝昆高铁预计哪一年通车" answered by "加快推进渝昆高铁建设"): the
    rule ``compose`` applies. False everywhere when ``types`` is None."""
    if not types or not len(table.q_type):
        return np.zeros(len(table.q_answerable), dtype=bool)
    safe = np.where(chosen >= 0, chosen, 0)
    missing = table.span_x[safe, SPAN_FEATURES.index("type_miss")] > 0
    return np.isin(table.q_type, sorted(types)) & (chosen >= 0) & missing


def type_rule_family(
    table: FeatureTable, chosen: np.ndarray, answers: np.ndarray
) -> frozenset[str] | None:
    """The widest of ``TYPE_RULE_FAMILIES`` whose rule costs at most
    ``RULE_ANSWERABLE_BUDGET`` of the fit split's answerable questions in correct answers
    (``answers``: per span, whether it is a correct answer, ``fit.span_targets``). Type
    recognizers miss some true answers, names by POS tag most of all; None when no family
    fits. Refusing an answerable question whose chosen span is wrong anyway costs no
    accuracy: it turns a wrong answer into an honest refusal."""
    answerable = table.q_fit & table.q_answerable
    correct = answers[np.where(chosen >= 0, chosen, 0)]
    for family in TYPE_RULE_FAMILIES:
        lost = type_missing(table, chosen, family) & correct
        if lost[answerable].mean() <= RULE_ANSWERABLE_BUDGET:
            return family
    return None


def rule_refusals(table: FeatureTable, focus_rule: float | None) -> np.ndarray:
    """Questions a rule refuses whatever the gate says."""
    return numbers_disagree(table) | focus_unseen(table, focus_rule)
