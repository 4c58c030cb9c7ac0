"""Query latency: ``core.ask`` in-process, its parts, and ``POST /ask`` under concurrency.

Why: the query encoder is the floor of any answer's latency, so every figure here is put
next to the bare ``encode_queries`` time measured in the same run: the ratio says how much
the rest of the stack (retrieval, answer composition, HTTP, threads) adds on top.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from wenda.index.embedding.base import Embedder
from wenda.index.evaluation import load_jsonl
from wenda.index.query.pipeline import STAGES
from wenda.index.settings import Settings

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
from bench.quality import bench_embedder, open_core

PARTS = STAGES  # the pipeline's own stage names (wenda.index.query.pipeline)


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


@contextlib.contextmanager
def capped_threads(n: int | None) -> Iterator[None]:
    """Cap torch's intra-op pool and faiss's OpenMP team (for this thread); None = as is."""
    if n is None:
        yield
        return
    import faiss
    import torch

    old_torch, old_faiss = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(n)
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old_torch)
        faiss.omp_set_num_threads(old_faiss)


def _time_parts(core, q: str, parts: dict[str, list[float]]) -> None:
    """One question through the core's pipeline; the stage timings are its own."""
    timings = core.run_pipeline(q).timings
    for name in PARTS:
        parts[name].append(timings[name])


def core_latency(
    core,
    questions: list[str],
    label: str,
    threads: tuple[int | None, ...] = (None,),
    repeat: int = 2,
) -> list[CoreLatency]:
    """ask() and bare-encode times per thread setting, settings interleaved pass by pass
    so machine noise hits them alike; then one pass timing ask()'s parts."""
    for q in questions[:5]:  # warm caches (jieba dictionary, torch kernels)
        core.ask(q)
    chunks = core.status().chunks
    out = {
        n: CoreLatency(label if n is None else f"{label}, {n} thread", chunks, [], [], {})
        for n in threads
    }
    for _ in range(repeat):
        for n in threads:
            r = out[n]
            with capped_threads(n):
                for q in questions:
                    t0 = time.perf_counter()
                    core.ask(q)
                    r.ask.append((time.perf_counter() - t0) * 1000)
                    t0 = time.perf_counter()
                    core.embedder.encode_queries([q])
                    r.encode.append((time.perf_counter() - t0) * 1000)
    for n in threads:
        out[n].parts = {p: [] for p in PARTS}
        with capped_threads(n):
            for q in questions:
                _time_parts(core, q, out[n].parts)
    return list(out.values())


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


def answer_model_overhead(core, questions: list[str], repeat: int = 3) -> str:
    """Whole-question time with the old heuristic compose vs the learned one, interleaved
    question by question (same retrieval, same run), on the first corpus."""
    from bench.old_heuristic import old_heuristic

    variants = {"old heuristic": old_heuristic(), "learned": None}  # no re-read: time compose only
    times: dict[str, list[float]] = {k: [] for k in variants}
    compose: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(repeat):
        for q in questions:
            for name, composer in variants.items():
                t0 = time.perf_counter()
                result = core.run_pipeline(q, composer=composer)
                result.to_answer()
                times[name].append((time.perf_counter() - t0) * 1000)
                compose[name].append(result.timings["compose"])
    rows = [
        (
            name,
            f"{median(times[name]):.2f}",
            f"{percentile(times[name], 99):.2f}",
            f"{median(compose[name]):.3f}",
            f"{percentile(compose[name], 99):.3f}",
        )
        for name in variants
    ]
    delta = median(times["learned"]) - median(times["old heuristic"])
    return "\n".join(
        [
            f"Answer model cost ({len(questions)} questions x {repeat}, interleaved): "
            f"learned - old heuristic = {delta:+.2f} ms at p50.",
            "",
            md_table(
                ["compose stage", "ask p50 ms", "ask p99 ms", "compose p50 ms", "compose p99 ms"],
                rows,
            ),
        ]
    )


def dominant(r: CoreLatency) -> str:
    meds = {p: median(v) for p, v in r.parts.items()}
    total = sum(meds.values())
    top = sorted(meds.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{p} {v / total:.0%}" for p, v in top[:3])


def run_core(
    embedder: Embedder, work: Path, extra: list[tuple[str, Path, Path]] = ()
) -> tuple[str, dict[str, float]]:
    """Seed corpus always; ``extra`` = (label, corpus_dir, index_dir) of prebuilt indexes.

    Returns the markdown and {corpus label: ask p50 ms}.
    """
    questions = bench_questions(100)
    mode = Settings(_env_file=None).retrieval_mode
    targets = [("seed corpus", SEED_CORPUS, work / "seeds_index"), *extra]
    results = []
    overhead = ""
    for label, corpus, index_dir in targets:
        log(f"latency: in-process ask() on {label}")
        core, _ = open_core(corpus, index_dir, embedder)
        try:
            results += core_latency(core, questions, label)
            if not overhead:
                overhead = answer_model_overhead(core, questions)
        finally:
            core.close()
    lines = [
        f"### core.ask() latency, in-process (default mode {mode}, top_k=5, one caller)",
        "",
        f"{len(questions)} questions x 2 passes; stage times in a separate pass, as reported "
        "by the pipeline itself (`core.run_pipeline(q).timings`): `analyse` = tokens, "
        "question reading, BM25 search and reading the lexical top passages, on a helper "
        "thread *during* `encode` (so it is not added to ask()), `retrieve` = dense search, "
        "fusion and rerank, `fetch` = chunk records, `compose` = answer spans, the answer "
        "model and the refusal reason.",
        "",
        core_table(results),
        "",
    ]
    lines += [
        f"- {r.corpus}: largest parts (analyse runs during encode): {dominant(r)}" for r in results
    ]
    lines += ["", overhead]
    return "\n".join(lines), {r.corpus: median(r.ask) for r in results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="embedder (default: the real default model)")
    parser.add_argument("--requests", type=int, default=200, help="HTTP requests per level")
    parser.add_argument("--levels", default="1,4,16", help="concurrent clients per level")
    parser.add_argument("--no-http", action="store_true", help="only the in-process figures")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args(argv)
    embedder = bench_embedder(args.model)
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        text, _ = run_core(embedder, Path(tmp))
        parts = [text]
        if not args.no_http:
            from bench.http_load import http_targets, run_http

            levels = [int(x) for x in args.levels.split(",")]
            targets = http_targets(Path(tmp) / "seeds_index", [])
            parts.append(run_http(embedder, targets, levels, args.requests, args.model))
    write_report(args.out, "\n\n".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
