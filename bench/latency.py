"""Query latency: ``core.ask`` in-process, its parts, and ``POST /ask`` under concurrency.

Why: the query encoder is the floor of any answer's latency, so every figure here is put
next to the bare ``encode_queries`` time measured in the same run: the ratio says how much
the rest of the stack (retrieval, answer composition, HTTP, threads) adds on top.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from bench.cmrc import eval_items, load_cmrc
from bench.common import (
    SEED_CORPUS,
    SEEDS_DEV,
    WORK,
    log,
    md_table,
    median,
    percentile,
    write_report,
)
from bench.quality import open_core
from index.embedding import Embedder, load_embedder
from index.evaluation import load_jsonl
from index.settings import Settings

PARTS = ("tokenize", "encode", "dense", "bm25", "fuse", "fetch", "compose")


def bench_questions(limit: int = 400) -> list[str]:
    """Seeds dev questions interleaved with CMRC ones: short factual Chinese questions."""
    seeds = [i.question for i in load_jsonl(SEEDS_DEV)]
    cmrc = [i.question for i in eval_items(load_cmrc())]
    out = []
    for i in range(limit):
        out.append(seeds[i % len(seeds)] if i % 4 == 0 else cmrc[(i * 7) % len(cmrc)])
    return out


@dataclass
class CoreLatency:
    corpus: str
    chunks: int
    ask: list[float]  # ms, whole core.ask (default hybrid mode, top_k 5)
    encode: list[float]  # ms, bare embedder.encode_queries([q])
    parts: dict[str, list[float]]


def core_latency(core, questions: list[str], label: str, repeat: int = 2) -> CoreLatency:
    """Time ask() and, separately, each step it performs (same functions, same order)."""
    from index.answering import compose
    from index.retriever import retrieve
    from index.sentences import split_sentences
    from index.vector_index import dense_search

    s = core.settings
    for q in questions[:5]:  # warm caches (jieba dictionary, torch kernels)
        core.ask(q)
    asks: list[float] = []
    encodes: list[float] = []
    parts: dict[str, list[float]] = {p: [] for p in PARTS}
    for _ in range(repeat):
        for q in questions:
            t0 = time.perf_counter()
            core.ask(q)
            asks.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            core.embedder.encode_queries([q])
            encodes.append((time.perf_counter() - t0) * 1000)
    for q in questions:
        snap = core._snapshot  # the bench looks inside on purpose: it times the pieces
        marks = [time.perf_counter()]
        terms = core.tokenizer.query_terms(q)
        marks.append(time.perf_counter())
        vec = core.embedder.encode_queries([q])[0]
        marks.append(time.perf_counter())
        dense_search(snap.dense, vec, s.candidate_k)
        marks.append(time.perf_counter())
        snap.lexical.search(terms, s.candidate_k)
        marks.append(time.perf_counter())
        hits = retrieve(snap, vec, terms, s.top_k, "hybrid", s.candidate_k, s.rrf_k)
        marks.append(time.perf_counter())
        by_id = snap.store.chunks([h.chunk_id for h in hits])
        chunks = [by_id[h.chunk_id] for h in hits]
        marks.append(time.perf_counter())
        compose(q, terms, hits, chunks, snap.lexical, split_sentences, core.min_support)
        marks.append(time.perf_counter())
        d = [(b - a) * 1000 for a, b in itertools.pairwise(marks)]
        # retrieve() repeats both searches; "fuse" is what it adds beyond them.
        fuse = max(0.0, d[4] - d[2] - d[3])
        for name, v in zip(PARTS, [d[0], d[1], d[2], d[3], fuse, d[5], d[6]], strict=True):
            parts[name].append(v)
    return CoreLatency(label, core.status().chunks, asks, encodes, parts)


def core_table(results: list[CoreLatency]) -> str:
    rows = []
    for r in results:
        enc = median(r.encode)
        rows.append(
            (
                r.corpus,
                r.chunks,
                f"{median(r.ask):.1f}",
                f"{percentile(r.ask, 99):.1f}",
                f"{enc:.1f}",
                f"{median(r.ask) / enc:.2f}x",
                *(f"{median(r.parts[p]):.2f}" for p in PARTS),
            )
        )
    return md_table(
        [
            "corpus",
            "chunks",
            "ask p50 ms",
            "ask p99 ms",
            "encode p50 ms",
            "ask/encode",
            *(f"{p} ms" for p in PARTS),
        ],
        rows,
    )


def dominant(r: CoreLatency) -> str:
    meds = {p: median(v) for p, v in r.parts.items()}
    total = sum(meds.values())
    top = sorted(meds.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{p} {v / total:.0%}" for p, v in top[:3])


def run_core(embedder: Embedder, work: Path, extra: list[tuple[str, Path, Path]] = ()) -> str:
    """Seed corpus always; ``extra`` = (label, corpus_dir, index_dir) of prebuilt indexes."""
    questions = bench_questions(100)
    targets = [("seed corpus", SEED_CORPUS, work / "seeds_index"), *extra]
    results = []
    for label, corpus, index_dir in targets:
        log(f"latency: in-process ask() on {label}")
        core, _ = open_core(corpus, index_dir, embedder)
        try:
            results.append(core_latency(core, questions, label))
        finally:
            core.close()
    lines = [
        "### core.ask() latency, in-process (hybrid, top_k=5, one caller)",
        "",
        f"{len(questions)} questions x 2 passes; parts timed in a separate pass by calling "
        "the same functions ask() calls. `fuse` = what retrieve() adds beyond the two searches "
        "(RRF + scoring lexical-only hits densely); `fetch` = chunk rows from SQLite.",
        "",
        core_table(results),
        "",
    ]
    lines += [f"- {r.corpus}: largest parts of ask(): {dominant(r)}" for r in results]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="embedder (default: the real default model)")
    parser.add_argument("--requests", type=int, default=200, help="HTTP requests per level")
    parser.add_argument("--levels", default="1,4,16", help="concurrent clients per level")
    parser.add_argument("--no-http", action="store_true", help="only the in-process figures")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args(argv)
    overrides = {"model": args.model} if args.model else {}
    embedder = load_embedder(Settings(_env_file=None, **overrides))
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        parts = [run_core(embedder, Path(tmp))]
        if not args.no_http:
            from bench.http_load import run_http

            levels = [int(x) for x in args.levels.split(",")]
            targets = [("seed corpus", SEED_CORPUS, Path(tmp) / "seeds_index")]
            parts.append(run_http(embedder, targets, levels, args.requests, args.model))
    write_report(args.out, "\n\n".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
