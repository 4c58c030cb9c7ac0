"""Would token-level matching (ColBERT-style MaxSim over the encoder's token states) help?

Why (issue 9): the gate still cannot tell a sentence that answers from an on-topic
neighbour well enough (AUC 0.87). Lexical coverage misses paraphrases, and the late
cosine is one number per span. MaxSim asks of every question token how well the span's
best-matching token matches it, which a stored per-token state would allow at question
time for ~0.1 ms. This probe measures it before anything is stored: for each row of the
committed feature table it encodes the question and the top passages again (the text the
builder embeds), and adds per span the mean, the minimum and the mean of the lowest third
of the question tokens' best cosines (and each one's gap to the question's best span and
that best) to the shipped fitting code, over the official and 8 random article splits.

Variants: the raw last hidden states (384 dims, ~58 KB a chunk as int8), and projected on
the first 32 / 64 / 128 principal components of 400 CMRC + DRCD paragraphs' token states,
int8 per token (~5-19 KB a chunk, against 2.35 KB of sentence states today).

    python bench/token_maxsim.py [--seeds 8] [--out FILE]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from wenda.index.query.fit import FeatureTable

from bench.common import log, probe_parser, write_report
from bench.sentence_evidence import token_states
from bench.span_dense import _with_best, resplit_table
from bench.train_answer import DATASETS, TABLE, evidence, open_set

VARIANTS = {"raw": 0, "pca 32": 32, "pca 64": 64, "pca 128": 128}
SAMPLE_PARAGRAPHS = 200  # per set, for the principal components


def projections(encoder) -> tuple[np.ndarray, dict[str, np.ndarray | None]]:
    from wenda.index.squad import load_squad

    sample = []
    for name in DATASETS:
        for p in load_squad(DATASETS[name])[:SAMPLE_PARAGRAPHS]:
            hidden, _ = token_states(encoder, "passage: " + p.context[:400])
            sample.append(hidden[1:-1])
    x = np.concatenate(sample)
    mean = x.mean(0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, {v: (vt[:k].T if k else None) for v, k in VARIANTS.items()}


def _transform(hidden: np.ndarray, mean: np.ndarray, proj: np.ndarray | None) -> np.ndarray:
    """Unit rows; projected ones centred, projected and rounded to int8 per token."""
    out = hidden
    if proj is not None:
        out = (hidden - mean) @ proj
        scale = np.abs(out).max(1, keepdims=True) / 127 + 1e-12
        out = np.round(out / scale) * scale
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def maxsim_columns(table: FeatureTable, work: Path) -> dict[str, np.ndarray]:
    """Per variant, (rows, 3): mean, min and lowest-third mean of the question tokens'
    best cosine to a token of the span."""
    from wenda.index.builder import _passage_text

    n = len(table.span_question)
    out = {v: np.full((n, 3), np.nan) for v in VARIANTS}
    groups, qi, embedder, mean, projs = table.groups(), 0, None, None, {}
    for name in ("cmrc", "drcd"):
        core, squad = open_set(name, work, embedder)
        embedder = core.embedder
        encoder = embedder._encoder  # type: ignore[attr-defined]  # the OnnxEncoder
        if mean is None:
            mean, projs = projections(encoder)
        passages: dict[int, tuple] = {}
        for item in squad.items:
            _, ev, top = evidence(core, item.question)
            spans, rows = ev.spans, groups[qi]
            qi += 1
            hidden, offsets = token_states(encoder, "query: " + item.question)
            keep = [i for i, (a, b) in enumerate(offsets) if b > a and a >= len("query: ")]
            if not keep or len(rows) != len(spans):
                continue
            question = {v: _transform(hidden[keep], mean, p) for v, p in projs.items()}
            for r, s in zip(rows, spans, strict=True):
                c = top[s.passage]
                if c.chunk_id not in passages:
                    text = _passage_text(c.chunk)
                    ph, po = token_states(encoder, "passage: " + text)
                    base = len("passage: ") + text.rfind(c.chunk.text)
                    states = {v: _transform(ph, mean, p) for v, p in projs.items()}
                    passages[c.chunk_id] = (states, np.array(po).reshape(-1, 2), base)
                states, po, base = passages[c.chunk_id]
                lo, hi = base + s.start, base + s.end
                inside = (po[:, 0] >= lo) & (po[:, 1] <= hi) & (po[:, 1] > po[:, 0])
                if not inside.any():
                    continue
                for v in VARIANTS:
                    best = np.sort((question[v] @ states[v][inside].T).max(1))
                    out[v][r] = [best.mean(), best[0], best[: max(1, len(best) // 3)].mean()]
            if qi % 1000 == 0:
                log(f"token_maxsim: {qi} questions")
        core.close()
    return out


def run(work: Path, seeds: int) -> str:
    table = FeatureTable.load(str(TABLE))
    columns = maxsim_columns(table, work)
    q = table.span_question
    variants: dict[str, tuple[str, dict]] = {"shipped (`late`)": ("late", {})}
    for v, cols in columns.items():
        extra = {}
        for k, stat in enumerate(("mean", "min", "low3")):
            names = (f"ms_{stat}", f"ms_{stat}_gap", f"ms_{stat}_best")
            extra.update(zip(names, _with_best(cols[:, k], q), strict=True))
        variants[f"+ MaxSim, {v}"] = ("late", extra)
    return "\n".join(
        [
            f"### Token-level MaxSim on top of the shipped model ({len(table.q_answerable)} "
            "questions; unanswerable refused / answerable refused / accuracy, held-out "
            "articles)",
            "",
            resplit_table(table, variants, seeds),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = probe_parser(__doc__).parse_args(argv)
    write_report(args.out, run(args.work, args.seeds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
