"""``make bench``: every benchmark in one run, written to ``bench/results.md``.

Why one run: ratios (hybrid vs BM25, /ask vs the bare encode, incremental vs full build)
are only meaningful when both sides were measured on the same machine at the same time.
The real default model is loaded once and shared; indexes built for the quality runs are
reused by the latency runs. Scratch files live in ``bench/_work/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, WORK, log, machine_info, md_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.md")
    parser.add_argument("--model", default=None, help="embedder (default: the real default model)")
    parser.add_argument("--docs", type=int, default=200, help="documents in the build corpus")
    parser.add_argument("--requests", type=int, default=200, help="HTTP requests per level")
    parser.add_argument("--levels", default="1,4,16", help="concurrent HTTP clients per level")
    parser.add_argument("--scale-sizes", default="10000,100000,1000000")
    parser.add_argument("--hnsw-sizes", default="10000,100000,200000,1000000")
    parser.add_argument("--hnsw-budget", type=float, default=480.0, help="max s per HNSW build")
    steps = (
        "quality,build,vscommit,small2big,spandense,latency,askoverhead,servecommit,scale,backends,"
        "store,stress"
    )
    parser.add_argument("--skip", default="", help=f"comma list of: {steps}")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))

    started = time.perf_counter()
    timings: list[tuple[str, float]] = []
    sections: list[str] = []
    info = machine_info()

    failures = 0

    def timed(name: str, fn):
        """Run one step; a failure is written into the results instead of losing the run."""
        nonlocal failures
        t0 = time.perf_counter()
        try:
            out = fn()
        except Exception:
            failures += 1
            log(f"run_all: {name} FAILED\n{traceback.format_exc()}")
            sections.append(f"### {name}: FAILED\n\n```\n{traceback.format_exc()}```")
            out = None
        timings.append((name, time.perf_counter() - t0))
        log(f"run_all: {name} done in {timings[-1][1]:.0f} s")
        return out

    def add(text: str | None) -> None:
        if text is not None:
            sections.append(text)

    work = WORK / "run"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    embedder = None
    if not {"quality", "build", "latency", "backends"} <= skip:
        from wenda.index.embedding.base import load_embedder
        from wenda.index.settings import Settings

        overrides = {"model": args.model} if args.model else {}
        t0 = time.perf_counter()
        embedder = load_embedder(Settings(_env_file=None, **overrides))  # a failure here is fatal
        timings.append(("load model", time.perf_counter() - t0))
        info["model"] = f"{embedder.name} (dim {embedder.dim})"

    large: list[tuple[str, Path, Path]] = []
    if "quality" not in skip:
        from bench.cmrc import run_cmrc
        from bench.followup import run_followup
        from bench.quality import run_seeds

        add(timed("seeds dev quality", lambda: run_seeds(embedder, work)[0]))
        add(timed("follow-up questions", lambda: run_followup(embedder, work)[0]))
        add(timed("CMRC quality", lambda: run_cmrc(embedder, work)[0]))
    if "backends" not in skip:  # local vs Milvus (milvus-lite server), issue 11
        from bench.backends import run_backends

        add(timed("store backends", lambda: run_backends(embedder, work)[0]))
    if "build" not in skip:
        from bench.build import run_build

        built = timed("build", lambda: run_build(embedder, work, args.docs))
        if built is not None:
            text, _, corpus, index_dir = built
            add(text)
            large.append((f"{args.docs} docs", corpus, index_dir))
    if "vscommit" not in skip:  # full builds against the code issue 14 was filed at
        from bench.build_vs_commit import BASELINE, compare

        add(timed("build vs commit", lambda: compare(BASELINE, 100, 3, work / "vscommit")))
    if "small2big" not in skip:  # issue 9, item 6: rank by larger units, cite the chunk
        from bench.small_to_big import run as run_small_to_big

        add(timed("small-to-big", lambda: run_small_to_big(["cmrc", "drcd"])))
    if "spandense" not in skip:  # issue 9: dense per-span signals, a tree span scorer
        from bench.span_dense import run as run_span_dense

        add(timed("span dense features", lambda: run_span_dense(WORK / "answer")))
    if "latency" not in skip:
        from bench.http_load import http_targets, run_http
        from bench.latency import run_core

        core = timed("core latency", lambda: run_core(embedder, work, large))
        add(core[0] if core is not None else None)
        from bench.encoder_threads import run_encoder_threads
        from bench.latency import bench_questions

        add(
            timed(
                "encoder threads",
                lambda: run_encoder_threads(embedder, bench_questions(200)),
            )
        )
        levels = [int(x) for x in args.levels.split(",")]
        targets = http_targets(work / "seeds_index", large)
        add(
            timed(
                "HTTP load",
                lambda: run_http(embedder, targets, levels, args.requests, args.model),
            )
        )
    if "askoverhead" not in skip:  # issue 14: POST /ask against the bare encode, 1 client
        from bench.ask_overhead import measure as measure_ask_overhead

        add(timed("POST /ask vs encode", lambda: measure_ask_overhead(3, 20, work / "askoverhead")))
    if "servecommit" not in skip:  # issue 14: the lone-client fast path costs others nothing
        from bench.serve_vs_commit import compare as serve_vs_commit

        add(timed("serve vs commit", lambda: serve_vs_commit("ee545de", 2, 240, work / "svc")))
    if "scale" not in skip:
        from wenda.index.settings import Settings

        from bench.scale import run as run_scale

        sizes = [int(s) for s in args.scale_sizes.split(",") if s]
        hnsw = [int(s) for s in args.hnsw_sizes.split(",") if s]
        settings = Settings(_env_file=None, ann_threshold=0)
        add(timed("scale", lambda: run_scale(sizes, hnsw, 200, 8.0, settings, args.hnsw_budget)[0]))
    if "store" not in skip:  # incremental HNSW: append to a copy vs rebuild (issue 8)
        from bench.store_bench import bench_hnsw

        add(timed("incremental HNSW", lambda: bench_hnsw(100_000, 1_000, 50_000)))
    if "stress" not in skip:  # hostile corpus, damaged versions, load during rebuilds (issue 10)
        from bench.stress import run_stress

        add(timed("reliability stress", lambda: run_stress(work, "hashing", 90)[0]))

    total = time.perf_counter() - started
    info["load_avg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    header = [
        "# Wenda benchmark results",
        "",
        "Generated by `python bench/run_all.py` (`make bench`); every table below comes from "
        "the scripts in `bench/`. Latencies are medians/percentiles over repeated calls; "
        "ratios compare figures measured in this same run.",
        "",
        md_table(["fact", "value"], sorted(info.items())),
        "",
        md_table(
            ["step", "seconds"], [*((n, f"{s:.0f}") for n, s in timings), ("total", f"{total:.0f}")]
        ),
    ]
    text = "\n".join(header) + "\n\n" + "\n\n".join(sections) + "\n"
    args.out.write_text(text, "utf-8")
    print(text)
    log(f"run_all: wrote {args.out} in {total:.0f} s ({failures} failed steps)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
