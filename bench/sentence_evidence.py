"""Which dense signal tells a passage that answers from one that is only on topic?

Why (issue 9): the gate's lexical features separate the cut construction's unanswerable
questions poorly, because the rest of the paragraph keeps the topic. This probe builds
pairs over one cut passage (a paragraph with every sentence holding question A's answer
removed): question A (now unanswerable) and another question B of the paragraph whose
answer survived, and reports how well each signal ranks B above A (AUC):

- ``passage``: cosine of the question to the passage vector (what the gate has today);
- ``late``: the best sentence by late chunking (passage token states pooled over the
  sentence's tokens: free at build time, since the passage is encoded anyway);
- ``sentence``: the best sentence encoded on its own (an encoder pass per sentence).

    python bench/sentence_evidence.py [--pairs 300] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from wenda.index.ingest.sentences import split_sentences

from bench.common import CMRC_FILE, md_table, write_report
from bench.script_folding import DRCD_FILE

PREFIX = "passage: "
MAX_CHARS = 400  # about a top passage's worth of text


class TokenStates:
    """The default encoder (``OnnxEncoder``), also run directly for per-token states."""

    def __init__(self) -> None:
        from wenda.index.embedding.st_model import _default_onnx
        from wenda.index.settings import Settings

        self.encoder, _ = _default_onnx(Settings(_env_file=None).model_cache_dir)

    def states(self, text: str) -> tuple[np.ndarray, list[tuple[int, int]]]:
        return token_states(self.encoder, text)

    def vector(self, text: str, prompt: str) -> np.ndarray:
        return self.encoder.encode([text], prompt)[0]


def token_states(encoder, text: str) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Last hidden states of one text through an ``OnnxEncoder``'s session, and each
    token's character offsets in it."""
    enc = encoder.tokenizer.encode(text)
    ids = np.array([enc.ids], np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    return encoder.session.run(None, feeds)[0][0], enc.offsets


def late_vector(
    hidden: np.ndarray, offsets: list[tuple[int, int]], lo: int, hi: int
) -> np.ndarray | None:
    """Late chunking: the mean state of the tokens lying inside characters [lo, hi)."""
    rows = [i for i, (x, y) in enumerate(offsets) if y > x and x >= lo and y <= hi]
    return hidden[rows].mean(axis=0) if rows else None


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def auc(pos: list[float], neg: list[float]) -> float:
    p, n = np.array(pos)[:, None], np.array(neg)[None, :]
    return float((p > n).mean() + 0.5 * (p == n).mean())


def cut_pairs(n_pairs: int, seed: int = 1):
    """(cut passage, answerable question, unanswerable question) triples."""
    rng = random.Random(seed)
    paragraphs = []
    for path in (CMRC_FILE, DRCD_FILE):
        for article in json.loads(path.read_text("utf-8"))["data"]:
            paragraphs += article["paragraphs"]
    rng.shuffle(paragraphs)
    for para in paragraphs:
        ctx, qas = para["context"], [q for q in para["qas"] if q["answers"]]
        if len(qas) < 2:
            continue
        cut = rng.choice(qas)
        golds = [a["text"] for a in cut["answers"]]
        sentences = split_sentences(ctx)
        kept = [(a, b) for a, b in sentences if not any(g in ctx[a:b] for g in golds)]
        text = "".join(ctx[a:b] for a, b in kept)
        if len(kept) == len(sentences) or not kept or any(g in text for g in golds):
            continue
        others = [q for q in qas if q is not cut and any(a["text"] in text for a in q["answers"])]
        if others:
            yield text[:MAX_CHARS], rng.choice(others)["question"], cut["question"]
            n_pairs -= 1
            if n_pairs == 0:
                return


def signals(model: TokenStates, passage: str) -> dict[str, np.ndarray]:
    """Per signal, the vectors a question is compared with (best one counts)."""
    spans = split_sentences(passage)
    hidden, offsets = model.states(PREFIX + passage)
    late = []
    for a, b in spans:
        v = late_vector(hidden, offsets, len(PREFIX) + a, len(PREFIX) + b)
        if v is not None:
            late.append(_unit(v))
    return {
        "passage": _unit(hidden.mean(axis=0))[None, :],
        "late": np.array(late),
        "sentence": np.array([model.vector(passage[a:b], PREFIX) for a, b in spans]),
    }


def run(n_pairs: int) -> str:
    model = TokenStates()
    scores: dict[str, tuple[list[float], list[float]]] = {}
    count = 0
    for passage, answerable, unanswerable in cut_pairs(n_pairs):
        units = signals(model, passage)
        for question, side in ((answerable, 0), (unanswerable, 1)):
            q = model.vector(question, "query: ")
            for name, vectors in units.items():
                scores.setdefault(name, ([], []))[side].append(float((vectors @ q).max()))
        count += 1
    rows = [[name, f"{auc(*pair):.3f}"] for name, pair in scores.items()]
    return "\n".join(
        [
            f"### Dense evidence for answerability ({count} cut pairs, CMRC + DRCD)",
            "",
            md_table(["signal (best over the passage)", "AUC answerable > cut"], rows),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    write_report(args.out, run(args.pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
