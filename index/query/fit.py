"""Fitting the answer model from a feature table (numpy; deterministic Newton steps).

Why a module of its own: ``bench/train_answer.py fit`` and the test that checks the shipped
``answer_model.json`` run exactly this code on the committed feature table, so the file in
the package is provably the one the data produces.

The table (``FeatureTable``) holds, per question, its candidate spans (features, whether
the span holds a gold answer, passage, offsets) and per-question values the gate needs.
The span model is a conditional logit (softmax over a question's spans, weight shared
among its positive spans, see ``span_targets``); the gate is a class-balanced logistic
regression over ``gate_features`` of the span the span model picks; the cut is the
support below which ``FALSE_REFUSAL_TARGET`` of the fit split's answerable questions fall
when each is scored by a model fitted without it (cross-validated).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from wenda.index.evaluation import MAX_ANSWER_CHARS
from wenda.index.query.features import DENSE_FEATURES, SPAN_FEATURES, Span
from wenda.index.query.model import GATE_FEATURES, AnswerModel, LinearModel, gate_features
from wenda.index.query.refusal_rules import (
    focus_rule_cut,
    focus_unseen,
    numbers_disagree,
    rule_refusals,
    type_missing,
    type_rule_family,
)
from wenda.index.query.span_features import LATE_FEATURES

FALSE_REFUSAL_TARGET = 0.045  # out-of-fold on the fit split; the issue allows at most 5% held-out
CV_FOLDS = 5
L2 = 1e-3  # ridge strength (per question, standardized features)
DECIMALS = 4


@dataclass
class FeatureTable:
    """Columns of the committed ``.npz`` (one row per span / per question)."""

    span_x: np.ndarray  # (S, len(SPAN_FEATURES))
    span_gold: np.ndarray  # (S,) bool: minimal span containing a gold answer
    span_contains: np.ndarray  # (S,) bool: contains a gold answer (what accuracy counts)
    span_question: np.ndarray  # (S,) int: question row of each span
    span_passage: np.ndarray  # (S,) int
    span_start: np.ndarray  # (S,) int
    span_end: np.ndarray  # (S,) int
    span_chars: np.ndarray  # (S,) int: length of the answer text
    q_answerable: np.ndarray  # (Q,) bool
    q_fit: np.ndarray  # (Q,) bool: article in the fit split
    q_best_cos: np.ndarray  # (Q,) float, NaN when no dense side
    q_union_cov: np.ndarray  # (Q,)
    q_typed: np.ndarray  # (Q,) bool
    q_terms: np.ndarray  # (Q,) int
    q_dataset: np.ndarray  # (Q,) str
    q_type: np.ndarray = field(default_factory=lambda: np.array([], dtype="U8"))  # (Q,) str:
    # the expected answer type ("" for none); tables written before it read as untyped

    def save(self, path: str) -> None:
        arrays = {k: v for k, v in self.__dict__.items()}
        arrays["span_x"] = self.span_x.astype(np.float16)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: str) -> FeatureTable:
        with np.load(path, allow_pickle=False) as data:
            fields = {k: data[k] for k in data.files}
        fields["span_x"] = fields["span_x"].astype(np.float64)
        fields.setdefault("q_type", np.full(len(fields["q_answerable"]), "", dtype="U8"))
        return cls(**fields)

    def groups(self) -> list[np.ndarray]:
        """Span row indices of each question (spans are stored grouped and in order)."""
        bounds = np.searchsorted(self.span_question, np.arange(len(self.q_answerable) + 1))
        return [np.arange(bounds[i], bounds[i + 1]) for i in range(len(self.q_answerable))]


VARIANTS: dict[str, frozenset[str]] = {
    "late": frozenset(),
    "dense": frozenset(LATE_FEATURES),
    "lexical": DENSE_FEATURES,
}
"""The shipped model variants and the span columns each is fitted (and run) without:
``late`` with sentence states, ``dense`` for an index without them, ``lexical`` when there
is no comparable cosine (BM25-only mode, another embedder)."""


def variant_columns(x: np.ndarray, variant: str) -> np.ndarray:
    """``x`` with the columns ``variant`` does without set to 0."""
    out = x.copy()
    for name in VARIANTS[variant]:
        out[:, SPAN_FEATURES.index(name)] = 0.0
    return out


def fit_span_model(x: np.ndarray, gold: np.ndarray, groups: list[np.ndarray]) -> LinearModel:
    """Conditional logit over each question's spans, by Newton's method (vectorized)."""
    usable = [g for g in groups if len(g) > 1 and gold[g].any()]
    rows = np.concatenate(usable)
    sizes = np.array([len(g) for g in usable])
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    owner = np.repeat(np.arange(len(usable)), sizes)
    mu, sd = _standardizer(x)
    z = (x[rows] - mu) / sd
    pos = gold[rows].astype(np.float64)
    pos /= np.add.reduceat(pos, starts)[owner]  # each question's positives share weight 1
    target = pos @ z
    n = len(usable)

    def loss_and_probs(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = z @ w
        shifted = s - np.maximum.reduceat(s, starts)[owner]
        log_norm = np.log(np.add.reduceat(np.exp(shifted), starts))[owner]
        log_p = shifted - log_norm
        return float(-(pos * log_p).sum() + 0.5 * L2 * n * w @ w), np.exp(log_p)

    w = np.zeros(x.shape[1])
    loss, p = loss_and_probs(w)
    for _ in range(50):
        means = np.add.reduceat(z * p[:, None], starts)
        grad = means.sum(0) - target + L2 * n * w
        hess = (z * p[:, None]).T @ z - means.T @ means + L2 * n * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while True:  # damped Newton: halve the step until the loss goes down
            trial = w - scale * step
            trial_loss, trial_p = loss_and_probs(trial)
            if trial_loss <= loss or scale < 1e-6:
                break
            scale /= 2
        done = loss - trial_loss < 1e-10 * max(1.0, abs(loss))
        w, loss, p = trial, trial_loss, trial_p
        if done:
            break
    raw = w / sd
    return LinearModel(SPAN_FEATURES, tuple(round(float(v), DECIMALS) for v in raw), 0.0)


def fit_gate(x: np.ndarray, y: np.ndarray) -> LinearModel:
    """Class-balanced L2 logistic regression by Newton's method (IRLS)."""
    mu, sd = _standardizer(x)
    z = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    weight = np.where(y, 0.5 / max(1, y.sum()), 0.5 / max(1, (~y).sum()))
    w = np.zeros(z.shape[1])
    ridge = L2 * np.eye(z.shape[1]) / len(x)
    ridge[-1, -1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -60, 60)))
        grad = z.T @ (weight * (p - y)) + ridge @ w
        hess = (z * (weight * p * (1 - p))[:, None]).T @ z + ridge
        step = np.linalg.solve(hess + 1e-12 * np.eye(len(w)), grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    raw = w[:-1] / sd
    bias = w[-1] - float(raw @ mu)
    return LinearModel(
        GATE_FEATURES, tuple(round(float(v), DECIMALS) for v in raw), round(float(bias), DECIMALS)
    )


def gate_rows(
    table: FeatureTable, x: np.ndarray, span: LinearModel
) -> tuple[np.ndarray, np.ndarray]:
    """Gate features per question for the span the span model picks; and that span's row."""
    scores_all = span.score(x)
    rows = np.zeros((len(table.q_answerable), len(GATE_FEATURES)))
    chosen = np.full(len(table.q_answerable), -1)
    for qi, g in enumerate(table.groups()):
        if not len(g):
            continue
        spans = [
            Span(
                int(table.span_passage[i]),
                int(table.span_start[i]),
                int(table.span_end[i]),
                "",
                list(x[i]),
            )
            for i in g
        ]
        scores = scores_all[g]
        best = int(np.argmax(scores))
        cos = float(table.q_best_cos[qi])
        rows[qi] = gate_features(
            spans,
            scores,
            best,
            best_cos=None if np.isnan(cos) else cos,
            union_coverage=float(table.q_union_cov[qi]),
            typed=bool(table.q_typed[qi]),
            n_terms=int(table.q_terms[qi]),
        )
        chosen[qi] = g[best]
    return rows, chosen


def fit_answer_model(table: FeatureTable, variant: str) -> AnswerModel:
    """Both parts on the fit split; the cut cross-validated on the fit split (see
    ``cross_validated_cut``), since a cut read off the gate's own training questions
    refuses fewer answerable questions there than on new ones."""
    x = variant_columns(table.span_x, variant)
    if variant == "lexical":
        table = _no_cos(table)
    focus_rule = focus_rule_cut(table)
    span, gate = _fit_parts(table, x, table.q_fit)
    _, chosen = gate_rows(table, x, span)
    type_rule = type_rule_family(table, chosen, span_targets(table))
    cut = cross_validated_cut(table, x, focus_rule, type_rule)
    return AnswerModel(span, gate, round(cut, DECIMALS), focus_rule, type_rule)


def _fit_parts(
    table: FeatureTable, x: np.ndarray, train: np.ndarray
) -> tuple[LinearModel, LinearModel]:
    """Span model and gate fitted on the questions where ``train`` is true."""
    in_train = train[table.span_question]
    groups = [g for g, keep in zip(table.groups(), train, strict=True) if keep]
    span = fit_span_model(x, span_targets(table) & in_train, groups)
    rows, chosen = gate_rows(table, x, span)
    mask = train & (chosen >= 0)
    return span, fit_gate(rows[mask], table.q_answerable[mask])


def span_targets(table: FeatureTable) -> np.ndarray:
    """Positive spans: every candidate that contains a gold answer in at most
    ``MAX_ANSWER_CHARS``, pairs of sentences included.

    Why not only the minimal span (the single answer sentence): trained on those, the model
    never chose a pair and picked a sentence without the answer for 16% of held-out
    answerable questions whose top passage held it; trained on containment it chooses the
    sentence with its neighbour when the answer may run on or sit next door (held-out
    answer accuracy 0.76 -> 0.82, README "Answer model and refusals")."""
    return table.span_contains & (table.span_chars <= MAX_ANSWER_CHARS)


def cross_validated_cut(
    table: FeatureTable,
    x: np.ndarray,
    focus_rule: float | None,
    type_rule: frozenset[str] | None = None,
) -> float:
    """The support cut at which ``FALSE_REFUSAL_TARGET`` of the fit split's answerable
    questions are refused (gate and rules together), each question scored by a
    model fitted without its fold. Folds are ``CV_FOLDS`` contiguous runs of the fit
    questions, which are stored article by article, so a fold holds whole articles
    (up to one split article at each edge)."""
    fit_rows = np.flatnonzero(table.q_fit)
    fold = np.full(len(table.q_fit), -1)
    fold[fit_rows] = np.arange(len(fit_rows)) * CV_FOLDS // len(fit_rows)
    support = np.full(len(table.q_fit), -np.inf)
    typed_out = np.zeros(len(table.q_fit), dtype=bool)
    for k in range(CV_FOLDS):
        span, gate = _fit_parts(table, x, (fold >= 0) & (fold != k))
        held = fold == k
        rows, chosen = gate_rows(table, x, span)
        scored = held & (chosen >= 0)
        support[scored] = 1.0 / (1.0 + np.exp(-gate.score(rows[scored])))
        typed_out[held] = type_missing(table, chosen, type_rule)[held]
    answerable = table.q_fit & table.q_answerable
    ruled = (rule_refusals(table, focus_rule) | typed_out) & answerable
    budget = int(np.floor(FALSE_REFUSAL_TARGET * answerable.sum())) - int(ruled.sum())
    ranked = np.sort(support[answerable & ~ruled])
    return float(ranked[min(max(budget, 0), len(ranked) - 1)])


def held_out_figures(table: FeatureTable, model: AnswerModel, variant: str) -> dict[str, float]:
    """Refusal rates and answer accuracy on the held-out questions, per set and overall."""
    x = variant_columns(table.span_x, variant)
    t = _no_cos(table) if variant == "lexical" else table
    rows, chosen = gate_rows(t, x, model.span)
    support = 1.0 / (1.0 + np.exp(-model.gate.score(rows)))
    refused_by_rule = rule_refusals(t, model.focus_rule) | type_missing(t, chosen, model.type_rule)
    answered = (chosen >= 0) & (support >= model.threshold) & ~refused_by_rule
    safe = np.where(chosen >= 0, chosen, 0)
    correct = answered & span_targets(table)[safe]
    out: dict[str, float] = {}
    held = ~table.q_fit
    for name in [*sorted(set(table.q_dataset.tolist())), "all"]:
        part = held if name == "all" else held & (table.q_dataset == name)
        pos, neg = part & table.q_answerable, part & ~table.q_answerable
        out[f"{name}_unanswerable_refused"] = round(float((~answered[neg]).mean()), 4)
        out[f"{name}_answerable_refused"] = round(float((~answered[pos]).mean()), 4)
        out[f"{name}_answer_accuracy"] = round(float(correct[pos].mean()), 4)
        pair = table.span_x[safe, SPAN_FEATURES.index("pair")] > 0
        shown = pos & answered
        out[f"{name}_pair_answers"] = round(float(pair[shown].mean()), 4) if shown.any() else 0.0
        chars = table.span_chars[safe][shown]
        out[f"{name}_median_answer_chars"] = float(np.median(chars)) if shown.any() else 0.0
        out[f"{name}_answerable"] = int(pos.sum())
        out[f"{name}_unanswerable"] = int(neg.sum())
    return out


def rule_figures(table: FeatureTable, late: AnswerModel | None = None) -> dict[str, dict]:
    """What each rule refuses on the fit split (the type rule with ``late``'s span model)."""
    fit = table.q_fit
    out: dict[str, dict] = {}
    rules = [
        ("numbers_disagree", numbers_disagree(table)),
        ("focus_unseen", focus_unseen(table, focus_rule_cut(table))),
    ]
    if late is not None and late.type_rule is not None:
        _, chosen = gate_rows(table, variant_columns(table.span_x, "late"), late.span)
        rules.append(("type_missing", type_missing(table, chosen, late.type_rule)))
    for name, rule in rules:
        out[name] = {
            "fit_answerable_refused": round(float(rule[fit & table.q_answerable].mean()), 4),
            "fit_unanswerable_refused": round(float(rule[fit & ~table.q_answerable].mean()), 4),
        }
    return out


def _no_cos(table: FeatureTable) -> FeatureTable:
    fields = dict(table.__dict__)
    fields["q_best_cos"] = np.full_like(table.q_best_cos, np.nan)
    return FeatureTable(**fields)


def _standardizer(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = x.mean(0)
    sd = x.std(0)
    return mu, np.where(sd > 1e-9, sd, 1.0)
