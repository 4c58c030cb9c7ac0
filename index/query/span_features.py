"""The answer model's span feature names, their columns, and weighted coverage.

Why a module of its own: the per-passage reading (``passages``) fills most columns of a
span's feature row before retrieval has finished, and the assembly (``features``) fills
the rest, so both need the one column order the shipped model was fitted on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SPAN_FEATURES = (
    "cov",  # IDF-weighted share of question terms in the span
    "cov_passage",  # ... in the span's passage with its section and title
    "cov_title",  # ... in the section title and document title
    "cov_prev",  # ... in the sentence before the span
    "cov_next",  # ... in the sentence after the span (the answer may continue there)
    "cov_local",  # coverage weighting terms by how few candidate sentences hold them
    "bigram",  # share of the question's character bigrams in the span
    "trigram",  # ... of its character trigrams (long copied phrases)
    "wh_context",  # the question word's neighbouring terms are in the span
    "order",  # matched terms in the question's order (LIS share)
    "rarest",  # the question's highest-IDF term is in the span
    "novel",  # share of the span that is not question words (an answer adds something)
    "passage_rank",  # 1 / (1 + rank of the passage)
    "passage_score",  # fused retrieval score of the passage
    "cos_gap",  # passage cosine minus the best cosine (0 without a dense side)
    "type_hit",  # the expected answer type is in the span
    "type_miss",  # an answer type is expected and the span has none
    "has_number",
    "unit_hit",  # a number followed by the measure word the question asks for ("115项")
    "num_missing",  # share of the question's numbers absent from the span
    "num_missing_passage",  # ... absent from the passage
    "ordinal_conflict",  # "第8条" where the question asks "第10条"
    "position",  # sentence index / sentences in the passage
    "first",  # first sentence of the passage
    "log_len",
    "pair",  # two consecutive sentences
    "ends_colon",  # the span introduces a list
    "focus",  # IDF share of the focus terms (what is asked about: 几座机场 → 机场) in the span
    "focus_passage",  # ... in the span's passage with its section and title
    "focus_type",  # focus terms and the expected answer type in the same span
    "focus_unit",  # focus terms and the asked measure word with a number ("3座机场")
    "has_focus",  # the question has a focus term (constant per question; for the gate)
    "focus_near",  # a value of the expected type within FOCUS_WINDOW chars of a focus term
    "focus_unseen",  # a focus term is in no document of the index (constant per question)
    "late",  # cosine of the span's late-chunked state to the question (``query.late``)
    "late_gap",  # ... minus the best span's
    "late_best",  # the best span's (constant per question; for the gate)
)
LATE_FEATURES = ("late", "late_gap", "late_best")
"""Zero when the index holds no sentence states (the ``dense`` model variant)."""
DENSE_FEATURES = frozenset({"cos_gap", *LATE_FEATURES})  # zero without a comparable cosine
COLUMN = {name: i for i, name in enumerate(SPAN_FEATURES)}
PASSAGE_LEVEL = (
    "cov_passage",
    "cov_title",
    "passage_rank",
    "passage_score",
    "cos_gap",
    "num_missing_passage",
    "focus_passage",
    "has_focus",
    "focus_unseen",
)
"""Span features shared by all spans of a passage (or of the question), filled when the
top passages are known."""
ACROSS_PASSAGES = ("cov_local", *LATE_FEATURES)
"""Span features that depend on the other top passages (the rest of the candidate sentences)."""


def weighted(present: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Weighted coverage per row (0 when the weights sum to nothing)."""
    w = np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    if total <= 0:
        return np.zeros(present.shape[0])
    return (present @ w) / total
