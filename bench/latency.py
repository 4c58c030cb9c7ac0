"""Query latency: ``core.ask`` in-process, its parts, and ``POST /ask`` under concurrency.

Why: the query encoder is the floor of any answer's latency, so every figure here is put
next to the bare ``encode_queries`` time measured in the same run: the ratio says how much
the rest of the stack (retrieval, answer composition, HTTP, threads) adds on top.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
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

PARTS = ("tokenize", "encode", "dense", "bm25", "fuse+rerank", "fetch", "compose")


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


def _answer_policy(core) -> object:
    """What ask() passes to compose() as its last argument (its name has changed before)."""
    for name in ("answerability", "min_support"):
        if hasattr(core, name):
            return getattr(core, name)
    raise AttributeError("core has no answerability policy the bench knows how to pass")


def _time_parts(core, q: str, parts: dict[str, list[float]]) -> None:
    """One question through the same functions ask() calls, each timed on its own."""
    from wenda.index.ingest.sentences import split_sentences
    from wenda.index.query.answer import compose
    from wenda.index.query.retrieve import retrieve
    from wenda.index.store.dense import dense_search

    s = core.settings
    snap = core._snapshot  # the bench looks inside on purpose: it times the pieces
    marks = [time.perf_counter()]
    terms = core.tokenizer.query_terms(q)
    marks.append(time.perf_counter())
    vec = core.embedder.encode_queries([q])[0]
    marks.append(time.perf_counter())
    dense_search(snap.dense, vec, s.candidate_k)
    marks.append(time.perf_counter())
    if hasattr(snap.lexical, "scores"):  # what retrieve() calls now
        snap.lexical.scores(terms)
    else:
        snap.lexical.search(terms, s.candidate_k)
    marks.append(time.perf_counter())
    hits = retrieve(snap, vec, terms, s.top_k, s.retrieval_mode, s.candidate_k, s.rrf_k)
    marks.append(time.perf_counter())
    by_id = snap.store.chunks([h.chunk_id for h in hits])
    chunks = [by_id[h.chunk_id] for h in hits]
    marks.append(time.perf_counter())
    compose(q, terms, hits, chunks, snap.lexical, split_sentences, _answer_policy(core))
    marks.append(time.perf_counter())
    d = [(b - a) * 1000 for a, b in itertools.pairwise(marks)]
    fuse = max(0.0, d[4] - d[2] - d[3])  # retrieve() repeats both searches; this is the rest
    for name, v in zip(PARTS, [d[0], d[1], d[2], d[3], fuse, d[5], d[6]], strict=True):
        parts[name].append(v)


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
    for label, corpus, index_dir in targets:
        log(f"latency: in-process ask() on {label}")
        core, _ = open_core(corpus, index_dir, embedder)
        try:
            results += core_latency(core, questions, label)
        finally:
            core.close()
    lines = [
        f"### core.ask() latency, in-process (default mode {mode}, top_k=5, one caller)",
        "",
        f"{len(questions)} questions x 2 passes; parts timed in a separate pass by calling "
        "the same functions ask() calls. `fuse+rerank` = what retrieve() adds beyond the two "
        "searches (RRF, dense scores for lexical-only hits, the rerank); `fetch` = chunk rows "
        "from SQLite; `compose` = answer sentence and answerability.",
        "",
        core_table(results),
        "",
    ]
    lines += [f"- {r.corpus}: largest parts of ask(): {dominant(r)}" for r in results]
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
