"""The learned answer model: a span scorer and an answerability gate, numpy only.

Why: hand-set weights and cue lists picked the wrong sentence for one answerable question
in four and answered three in four on-topic questions whose answer was not there. Both
parts are linear models fitted by ``bench/train_answer.py`` (fit step in
``wenda.index.query.fit``) on CMRC 2018 trial + DRCD with the cut construction, and
shipped as ``answer_model.json`` next to this module:

- ``span``: a conditional logit over the candidate spans of one question (which span
  holds the answer); a score is ``features @ weights``.
- ``gate``: a logistic regression over the chosen span and its context (does the
  evidence answer at all); ``support`` is its probability, answered when ≥ ``threshold``.

Three variants ship (``fit.VARIANTS``): ``late`` (cosine and late-chunked sentence
features, the default embedder on an index with sentence states), ``dense`` (an index
built without them) and ``lexical`` (cosine features zeroed: BM25-only mode or an
embedder whose cosines are not comparable).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from wenda.index.query.features import SPAN_FEATURES, Span

GATE_FEATURES = (
    "span_score",  # the chosen span's score
    "span_prob",  # its softmax probability among all spans
    "margin",  # score gap to the best span of another sentence
    "cov",
    "cov_local",
    "bigram",
    "trigram",
    "wh_context",
    "cov_passage",
    "cov_union_missing",  # IDF share of question terms absent from all top passages
    "max_cov_local",  # the best any single sentence does (the answer sentence may be gone)
    "max_trigram",
    "type_hit",
    "type_miss",
    "type_nowhere",  # an answer type is expected and no candidate span holds it
    "num_missing",
    "num_missing_passage",
    "ordinal_conflict",
    "best_cos",  # best cosine of the top passages (0 without a dense side)
    "has_type",
    "n_terms",
    "pair",
    "focus",
    "focus_passage",
    "focus_type",
    "focus_nowhere",  # the question's focus term is in none of the top passages
    "max_focus_type",  # the best span holding both the focus term and the answer type
    "max_focus",
    "has_focus",
    "focus_near",
    "max_focus_near",
    "late",  # the chosen span's late-chunked cosine, its gap to the best, and the best
    "late_gap",
    "late_best",
)
MODEL_FILE = "answer_model.json"


@dataclass(frozen=True)
class LinearModel:
    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float = 0.0

    def score(self, x: np.ndarray) -> np.ndarray:
        return x @ np.asarray(self.weights, dtype=np.float64) + self.bias

    def to_dict(self) -> dict[str, Any]:
        return {"weights": dict(zip(self.features, self.weights, strict=True)), "bias": self.bias}

    @classmethod
    def from_dict(cls, data: dict[str, Any], features: Sequence[str]) -> LinearModel:
        weights = data["weights"]
        missing = [f for f in features if f not in weights]
        if missing:
            raise ValueError(f"answer model lacks weights for {missing}")
        return cls(tuple(features), tuple(float(weights[f]) for f in features), float(data["bias"]))


@dataclass(frozen=True)
class AnswerModel:
    span: LinearModel
    gate: LinearModel
    threshold: float
    focus_rule: float | None = None  # refuse when Question.focus_unseen ≥ this (None: off)
    type_rule: frozenset[str] | None = None  # answer types whose absence from the chosen
    # span refuses (``refusal_rules.type_rule_family``; None: off)

    def support(self, gate_row: np.ndarray) -> float:
        z = float(self.gate.score(gate_row.reshape(1, -1))[0])
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_dict(self) -> dict[str, Any]:
        return {
            "span": self.span.to_dict(),
            "gate": self.gate.to_dict(),
            "threshold": self.threshold,
            "focus_rule": self.focus_rule,
            "type_rule": None if self.type_rule is None else sorted(self.type_rule),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerModel:
        return cls(
            LinearModel.from_dict(data["span"], SPAN_FEATURES),
            LinearModel.from_dict(data["gate"], GATE_FEATURES),
            float(data["threshold"]),
            None if data.get("focus_rule") is None else float(data["focus_rule"]),
            None if data.get("type_rule") is None else frozenset(data["type_rule"]),
        )


@dataclass(frozen=True)
class ShippedModels:
    late: AnswerModel  # the default embedder on an index with sentence states
    dense: AnswerModel  # ... on an index without them
    lexical: AnswerModel  # no comparable cosine

    def variant(self, name: str) -> AnswerModel:
        """The model named as in ``fit.VARIANTS``."""
        models = {"late": self.late, "dense": self.dense, "lexical": self.lexical}
        return models[name]

    @classmethod
    def load(cls, path: Path | None = None) -> ShippedModels:
        """The fitted file in the package (or ``path``)."""
        if path is None:
            text = resources.files("wenda.index.query").joinpath(MODEL_FILE).read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        data = json.loads(text)
        return cls(*(AnswerModel.from_dict(data[k]) for k in ("late", "dense", "lexical")))


def gate_features(
    spans: Sequence[Span],
    scores: np.ndarray,
    best: int,
    *,
    best_cos: float | None,
    union_coverage: float,
    typed: bool,
    n_terms: int,
) -> np.ndarray:
    """The gate's input for the chosen span ``spans[best]``."""
    f = dict(zip(SPAN_FEATURES, spans[best].features, strict=True))
    z = scores - scores.max()
    probs = np.exp(z) / np.exp(z).sum()
    chosen = spans[best]
    others = [
        float(scores[i])
        for i, s in enumerate(spans)
        if s.passage != chosen.passage or s.end <= chosen.start or s.start >= chosen.end
    ]
    margin = float(scores[best]) - max(others) if others else 5.0
    row = {
        "span_score": float(scores[best]),
        "span_prob": float(probs[best]),
        "margin": min(margin, 5.0),
        "cov_union_missing": 1.0 - union_coverage,
        "max_cov_local": max(s.features[_COV_LOCAL] for s in spans),
        "max_trigram": max(s.features[_TRIGRAM] for s in spans),
        "type_nowhere": float(typed and not any(s.features[_TYPE_HIT] for s in spans)),
        "best_cos": 0.0 if best_cos is None else best_cos,
        "has_type": float(typed),
        "n_terms": math.log1p(n_terms),
        "focus_nowhere": f["has_focus"] * (1.0 - max(s.features[_FOCUS_PASSAGE] for s in spans)),
        "max_focus_type": max(s.features[_FOCUS_TYPE] for s in spans),
        "max_focus": max(s.features[_FOCUS] for s in spans),
        "max_focus_near": max(s.features[_FOCUS_NEAR] for s in spans),
    }
    for name in GATE_FEATURES:
        if name not in row:
            row[name] = f[name]
    return np.array([row[name] for name in GATE_FEATURES], dtype=np.float64)


_TYPE_HIT = SPAN_FEATURES.index("type_hit")
_COV_LOCAL = SPAN_FEATURES.index("cov_local")
_TRIGRAM = SPAN_FEATURES.index("trigram")
_FOCUS = SPAN_FEATURES.index("focus")
_FOCUS_PASSAGE = SPAN_FEATURES.index("focus_passage")
_FOCUS_TYPE = SPAN_FEATURES.index("focus_type")
_FOCUS_NEAR = SPAN_FEATURES.index("focus_near")
