"""How close each candidate span is to the question, from the stored sentence states.

Why: the dense side scored passages only, so the answer model could not tell the sentence
that answers from an on-topic neighbour by meaning. A span's late-chunked state is the sum
of its sentences' states (``embedding.sentence_states``); its cosine to the question
vector needs, per passage, one (sentences × dim) product after the encode, and for a pair
of sentences the norms and the neighbours' dot product: ~20 µs for the top 3 passages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from wenda.index.embedding.sentence_states import unpack
from wenda.index.ingest.sentences import split_sentences
from wenda.index.models import Chunk


@dataclass(frozen=True)
class SentenceScores:
    """Per sentence of one passage: its state's dot product with the question vector and
    its squared norm; per neighbouring pair, the two states' dot product."""

    dots: np.ndarray  # (n,)
    norms2: np.ndarray  # (n,)
    adjacent: np.ndarray  # (n - 1,)

    def cosine(self, i: int, j: int) -> float | None:
        """Cosine of sentences ``i..j`` (``j`` is ``i`` or ``i + 1``) to the question;
        None when they hold no token state (an empty or truncated sentence)."""
        dot = float(self.dots[i : j + 1].sum())
        norm2 = float(self.norms2[i : j + 1].sum())
        if j > i:
            norm2 += 2.0 * float(self.adjacent[i])
        return dot / math.sqrt(norm2) if norm2 > 1e-12 else None


def sentence_scores(chunk: Chunk, vector: np.ndarray) -> SentenceScores | None:
    """The question vector against one chunk's stored states; None without states."""
    states = unpack(chunk.states, int(vector.shape[0]), len(split_sentences(chunk.text)))
    if states is None:
        return None
    return SentenceScores(
        states @ vector.astype(np.float32),
        np.einsum("ij,ij->i", states, states),
        np.einsum("ij,ij->i", states[:-1], states[1:]),
    )


def late_columns(cosines: Sequence[float | None]) -> list[tuple[float, float, float]]:
    """(late, late_gap, late_best) per span: its cosine, its gap to the question's best
    span and that best. A span without a state gets the question's lowest cosine."""
    known = [c for c in cosines if c is not None]
    if not known:
        return [(0.0, 0.0, 0.0)] * len(cosines)
    best, worst = max(known), min(known)
    return [(v, v - best, best) for v in (worst if c is None else c for c in cosines)]
