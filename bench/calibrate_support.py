"""Fit the answerability model (``wenda.index.query.answer.DEFAULT_MODEL_ANSWERABILITY``) on data.

Why: a guessed threshold either answers questions the documents cannot answer or refuses
ones they can. Negatives must be questions whose evidence is missing, so we make them:
hold out a quarter of the CMRC trial articles, index the rest, and ask every CMRC
question. Questions about indexed paragraphs should be answered; questions about held-out
articles should be refused. A class-balanced logistic regression on the two signals
(term coverage, best dense cosine) is fitted there and cut at probability 0.5, then
checked, not tuned, on the seeds dev set. The coverage-only cut used for other models is
fitted the same way.

    python bench/calibrate_support.py     # prints coefficients and rates to paste/compare
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from wenda.index.core import Wenda
from wenda.index.embedding.base import load_embedder
from wenda.index.evaluation import load_jsonl
from wenda.index.query.answer import DEFAULT_MODEL_ANSWERABILITY, Answerability
from wenda.index.settings import Settings

from bench.cmrc import eval_items, load_cmrc, write_corpus
from bench.common import SEED_CORPUS, SEEDS_DEV, WORK


def held_out(title: str) -> bool:
    """Deterministic ~25% of articles (by title, so sibling paragraphs go together)."""
    return hashlib.sha256(title.encode("utf-8")).digest()[0] % 4 == 0


def signals(core: Wenda, questions: list[str]) -> np.ndarray:
    """(coverage, best cosine) per question, exactly as the core computes them."""
    rows = []
    for q in questions:
        answer = core.ask(q, top_k=5)
        rows.append((answer.coverage, answer.best_cosine or 0.0))
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def fit_logistic(pos: np.ndarray, neg: np.ndarray, steps: int = 20000) -> Answerability:
    """Class-balanced logistic regression by gradient descent (one or two features)."""
    x = np.vstack([pos, neg])
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    weight = np.where(y == 1, 0.5 / len(pos), 0.5 / len(neg))
    mu, sd = x.mean(0), np.where(x.std(0) > 0, x.std(0), 1.0)
    z = (x - mu) / sd
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        g = (p - y) * weight
        w -= z.T @ g
        b -= g.sum()
    raw = w / sd  # fold the standardization into raw coefficients
    bias = b - float(raw @ mu)
    dense = float(raw[1]) if len(raw) > 1 else 0.0
    return Answerability(round(float(raw[0]), 2), round(dense, 2), round(float(bias), 2))


def rates(model: Answerability, pos: np.ndarray, neg: np.ndarray) -> str:
    def answered(rows: np.ndarray) -> np.ndarray:
        cos = rows[:, 1] if rows.shape[1] > 1 else np.zeros(len(rows))
        return np.array(
            [model.support(c, d) >= model.threshold for c, d in zip(rows[:, 0], cos, strict=True)]
        )

    tpr = float(answered(pos).mean()) if len(pos) else float("nan")
    tnr = float((~answered(neg)).mean()) if len(neg) else float("nan")
    return (
        f"answered {tpr:.3f} of {len(pos)} answerable, refused {tnr:.3f} of {len(neg)} "
        f"unanswerable (balanced {(tpr + tnr) / 2:.3f})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=WORK / "calibrate")
    args = parser.parse_args(argv)

    base = Settings(_env_file=None, answer_min_support=0.0)
    embedder = load_embedder(base)
    paragraphs = load_cmrc()
    kept = [p for p in paragraphs if not held_out(p.title)]
    gone = [p for p in paragraphs if held_out(p.title)]
    write_corpus(kept, args.work / "corpus")
    cmrc = Wenda.open(
        base.model_copy(
            update={"corpus_dir": args.work / "corpus", "index_dir": args.work / "index"}
        ),
        embedder=embedder,
    )
    pos = signals(cmrc, [i.question for i in eval_items(kept)])
    neg = signals(cmrc, [i.question for i in eval_items(gone)])
    both = fit_logistic(pos, neg)
    coverage_only = fit_logistic(pos[:, :1], neg[:, :1])

    seeds = Wenda.open(
        base.model_copy(update={"corpus_dir": SEED_CORPUS, "index_dir": args.work / "seeds"}),
        embedder=embedder,
    )
    dev = load_jsonl(SEEDS_DEV)
    dev_pos = signals(seeds, [i.question for i in dev if i.answerable])
    dev_neg = signals(seeds, [i.question for i in dev if not i.answerable])

    print(f"model {embedder.name}; CMRC: {len(kept)} paragraphs indexed, {len(gone)} held out")
    for name, model, cols in (
        ("fitted: coverage + cosine", both, slice(0, 2)),
        ("fitted: coverage only", coverage_only, slice(0, 1)),
        ("in use (index/answering.py)", DEFAULT_MODEL_ANSWERABILITY, slice(0, 2)),
    ):
        print(f"{name}: {model}")
        print(f"  CMRC held-out: {rates(model, pos[:, cols], neg[:, cols])}")
        print(f"  seeds dev:     {rates(model, dev_pos[:, cols], dev_neg[:, cols])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
