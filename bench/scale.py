"""Dense-index scale: exact (IndexFlatIP) vs the HNSW index the core builds, 10k..1M chunks.

Why: ``settings.ann_threshold`` decides when the core gives up exact search for HNSW. That
choice trades query latency against recall and build time, so it should come from figures.
Vectors are synthetic but shaped like the real ones (dim 384, L2-normalized, a gaussian
mixture so neighbours are clustered and recall means something). HNSW is built through
``wenda.index.store.dense.build_dense_index`` so we measure exactly what the core would build.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

import faiss
import numpy as np
from wenda.index.settings import Settings
from wenda.index.store.dense import DenseParams, build_dense_index, index_kind

from bench.common import log, md_table, median, percentile, rss_mib, write_report

DIM = 384


@dataclass
class Row:
    kind: str
    n: int
    build_s: float
    p50_ms: float
    p99_ms: float
    p50_1t_ms: float  # with faiss limited to one OpenMP thread
    p50_k50_ms: float  # k = candidate_k, what the retriever actually asks for
    index_mib: float
    rss_delta_mib: float
    recall10: float = 1.0
    ef_sweep: list[tuple[int, float, float]] = field(default_factory=list)


def clustered_vectors(
    n: int, dim: int = DIM, clusters: int = 2000, seed: int = 0, draw_seed: int = 0
) -> np.ndarray:
    """Gaussian mixture on the sphere: random centres, per-cluster spread, normalized rows.

    Spreads are chosen so a point's cosine to its centre is ~0.7-0.9 and to a random point
    ~0, roughly like sentence embeddings of passages on the same vs unrelated topics.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    sigma = rng.uniform(0.025, 0.05, clusters).astype(np.float32)
    weights = rng.dirichlet(np.full(clusters, 0.5))  # uneven topic sizes
    rng = np.random.default_rng([seed, draw_seed])  # same mixture, independent draws
    block = 100_000
    out = np.empty((n, dim), dtype=np.float32)
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        lab = rng.choice(clusters, size=hi - lo, p=weights)
        part = (
            centres[lab] + rng.standard_normal((hi - lo, dim)).astype(np.float32) * sigma[lab, None]
        )
        part /= np.linalg.norm(part, axis=1, keepdims=True)
        out[lo:hi] = part
    return out


def _single_query_ms(
    index: faiss.Index, queries: np.ndarray, k: int, budget_s: float
) -> list[float]:
    """Per-query wall times, one query per call as the server does; stops at the budget."""
    times: list[float] = []
    index.search(queries[:1], k)  # warm-up
    started = time.perf_counter()
    for i in range(len(queries)):
        t0 = time.perf_counter()
        index.search(queries[i : i + 1], k)
        times.append((time.perf_counter() - t0) * 1000)
        if time.perf_counter() - started > budget_s and len(times) >= 20:
            break
    return times


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def _release_memory() -> None:
    """Return freed heap to the OS so the next RSS delta is not hidden by malloc reuse."""
    gc.collect()
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _hnsw_bytes(index: faiss.Index) -> int:
    hnsw = index.hnsw
    graph = hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4
    return index.ntotal * index.d * 4 + graph


def measure(
    kind: str,
    data: np.ndarray,
    queries: np.ndarray,
    truth: np.ndarray | None,
    settings: Settings,
    budget_s: float,
    ef_sweep: tuple[int, ...] = (),
) -> Row:
    """Build one index over ``data`` and time single-query searches against it."""
    _release_memory()
    before = rss_mib()
    t0 = time.perf_counter()
    if kind == "flat":
        index = faiss.IndexFlatIP(data.shape[1])
        index.add(data)
    else:
        params = DenseParams(
            settings.ann_threshold,
            settings.hnsw_m,
            settings.hnsw_ef_construction,
            settings.hnsw_ef_search,
        )
        index = build_dense_index(data, params)
        assert index_kind(index) == "hnsw"
    build_s = time.perf_counter() - t0
    delta = rss_mib() - before
    times = _single_query_ms(index, queries, 10, budget_s)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    times_1t = _single_query_ms(index, queries, 10, budget_s / 2)
    faiss.omp_set_num_threads(threads)
    times_k50 = _single_query_ms(index, queries, 50, budget_s / 2)
    size = data.nbytes if kind == "flat" else _hnsw_bytes(index)
    row = Row(
        kind=kind,
        n=len(data),
        build_s=build_s,
        p50_ms=median(times),
        p99_ms=percentile(times, 99),
        p50_1t_ms=median(times_1t),
        p50_k50_ms=median(times_k50),
        index_mib=size / 2**20,
        rss_delta_mib=delta,
    )
    if kind == "hnsw" and truth is not None:
        _, found = index.search(queries, 10)
        row.recall10 = _recall(found, truth)
        for ef in ef_sweep:
            index.hnsw.efSearch = ef
            _, found = index.search(queries, 10)
            t = _single_query_ms(index, queries, 10, budget_s / 4)
            row.ef_sweep.append((ef, _recall(found, truth), median(t)))
        index.hnsw.efSearch = settings.hnsw_ef_search
    del index
    _release_memory()
    return row


def crossover(rows: list[Row], budget_ms: float) -> float:
    """Chunks at which exact search's p50 reaches ``budget_ms`` (linear fit through 0)."""
    pts = [(r.n, r.p50_1t_ms) for r in rows if r.kind == "flat"]
    slope = sum(n * t for n, t in pts) / sum(n * n for n, _ in pts)
    return budget_ms / slope if slope > 0 else math.inf


def run(
    sizes: list[int],
    hnsw_sizes: list[int],
    n_queries: int,
    budget_s: float,
    settings: Settings,
    hnsw_budget_s: float = 480.0,
) -> tuple[str, list[Row]]:
    """Flat at every size; HNSW at ``hnsw_sizes`` unless the build is predicted (n log n
    from the previous HNSW build) to exceed ``hnsw_budget_s``: then it is skipped and said."""
    total = max(sizes + hnsw_sizes)
    log(f"scale: generating {total:,} x {DIM} clustered vectors")
    data = clustered_vectors(total)
    queries = clustered_vectors(n_queries, draw_seed=1)  # same topics, unseen points
    rows: list[Row] = []
    skipped: list[str] = []
    for n in sorted(set(sizes) | set(hnsw_sizes)):
        sub = data[:n]  # a prefix of an i.i.d. sample is a sample of the same mixture
        log(f"scale: flat n={n:,}")
        rows.append(measure("flat", sub, queries, None, settings, budget_s))
        if n not in hnsw_sizes:
            continue
        built = [r for r in rows if r.kind == "hnsw"]
        if built:
            prev = built[-1]
            predicted = prev.build_s * (n * math.log(n)) / (prev.n * math.log(prev.n))
            if predicted > hnsw_budget_s:
                skipped.append(
                    f"HNSW at {n:,} skipped: its build was predicted at {predicted / 60:.1f} min "
                    f"(from {prev.build_s:.0f} s at {prev.n:,}), over the "
                    f"{hnsw_budget_s / 60:.1f} min budget of this run."
                )
                log(f"scale: {skipped[-1]}")
                continue
        gt = faiss.IndexFlatIP(DIM)
        gt.add(sub)
        _, flat_truth = gt.search(queries, 10)
        del gt
        _release_memory()
        log(f"scale: hnsw n={n:,} (M={settings.hnsw_m}, efC={settings.hnsw_ef_construction})")
        sweep = (16, 32, 64, 128, 256) if n >= 100_000 else ()
        rows.append(measure("hnsw", sub, queries, flat_truth, settings, budget_s, sweep))
    text = report(rows, settings)
    return (text + "\n\n" + "\n".join(skipped) if skipped else text), rows


def report(rows: list[Row], settings: Settings) -> str:
    table = md_table(
        [
            "index",
            "chunks",
            "build s",
            "p50 ms (k=10)",
            "p99 ms",
            "p50 ms, 1 OMP thread",
            "p50 ms (k=50)",
            "index MiB",
            "RSS delta MiB",
            "recall@10",
        ],
        [
            (
                r.kind,
                f"{r.n:,}",
                f"{r.build_s:.1f}",
                f"{r.p50_ms:.2f}",
                f"{r.p99_ms:.2f}",
                f"{r.p50_1t_ms:.2f}",
                f"{r.p50_k50_ms:.2f}",
                f"{r.index_mib:,.0f}",
                f"{r.rss_delta_mib:,.0f}",
                f"{r.recall10:.3f}",
            )
            for r in rows
        ],
    )
    parts = [
        "### Dense index scale (synthetic clustered 384-d vectors, single-query search)",
        "",
        f"HNSW as the core builds it: M={settings.hnsw_m}, "
        f"efConstruction={settings.hnsw_ef_construction}, efSearch={settings.hnsw_ef_search}. "
        "Recall@10 is against exact search on the same vectors.",
        "",
        table,
    ]
    hnsw = [r for r in rows if r.kind == "hnsw"]
    if hnsw:
        big = max(hnsw, key=lambda r: r.n)
        rate = big.n / big.build_s
        parts += [
            "",
            f"HNSW build rate at {big.n:,}: {rate:,.0f} vectors/s ({big.build_s:.0f} s). The "
            "builder rebuilds the dense index from all vectors on every incremental reindex, "
            "so above the threshold each one-document edit pays this build time again.",
        ]
        swept = [r for r in hnsw if r.ef_sweep]
        if swept:
            big = max(swept, key=lambda r: r.n)
            parts += [
                "",
                f"efSearch sweep at {big.n:,} chunks:",
                "",
                md_table(
                    ["efSearch", "recall@10", "p50 ms"],
                    [(ef, f"{rc:.3f}", f"{ms:.2f}") for ef, rc, ms in big.ef_sweep],
                ),
            ]
    flat = [r for r in rows if r.kind == "flat"]
    if len(flat) >= 2:
        parts += [
            "",
            "Exact search reaches 10 ms per query (1 thread) at ~"
            f"{crossover(rows, 10):,.0f} chunks and 25 ms at ~{crossover(rows, 25):,.0f}.",
        ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="flat index sizes")
    parser.add_argument("--hnsw-sizes", default="10000,100000,200000,1000000", help="HNSW sizes")
    parser.add_argument(
        "--hnsw-budget", type=float, default=480.0, help="skip an HNSW build predicted longer"
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--budget", type=float, default=8.0, help="seconds of timing per index")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args(argv)
    settings = Settings(ann_threshold=0, _env_file=None)  # force HNSW in build_dense_index
    sizes = [int(s) for s in args.sizes.split(",") if s]
    hnsw_sizes = [int(s) for s in args.hnsw_sizes.split(",") if s]
    text, _ = run(sizes, hnsw_sizes, args.queries, args.budget, settings, args.hnsw_budget)
    write_report(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
