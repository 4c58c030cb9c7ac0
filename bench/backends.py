"""Local store vs Milvus on the CMRC 2018 trial corpus, in one run.

Why: the Milvus backend must give the same answers as the embedded default (issue 11: within
0.01 hit@1) and we want to know what the network hop costs. Milvus runs as a real
``milvus-lite server`` subprocess, i.e. over the gRPC protocol a cluster speaks. Both
backends index the same corpus with the same embedder; the build seconds include embedding.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wenda.index.core import Wenda
from wenda.index.embedding.base import Embedder
from wenda.index.evaluation import EvalItem, evaluate
from wenda.index.models import Answer

from bench.cmrc import eval_items, load_cmrc, write_corpus
from bench.common import (
    CMRC_FILE,
    WORK,
    free_port,
    log,
    md_table,
    median,
    percentile,
    write_report,
)
from bench.quality import bench_embedder, open_core

LATENCY_QUESTIONS = 200
HEADERS = ["backend", "chunks", "hit@1", "hit@5", "MRR@10", "build s", "1 doc changed s"]
HEADERS += ["ask p50 ms", "ask p99 ms"]


@dataclass
class BackendResult:
    name: str
    chunks: int
    metrics: dict[str, float]
    build_s: float
    top1: dict[str, int | None] = field(default_factory=dict)  # question -> first chunk id
    p50: float = float("nan")
    p99: float = float("nan")
    incremental_s: float = float("nan")  # reindex after one document changed


@contextmanager
def milvus_lite_server(data_dir: Path) -> Iterator[str]:
    """``milvus-lite server`` on a free port; yields its URI, stops it afterwards."""
    exe = Path(sys.executable).with_name("milvus-lite")
    port = free_port()
    cmd = [str(exe), "server", "--data-dir", str(data_dir), "--host", "127.0.0.1"]
    proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("milvus-lite server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(30)


def build_and_score(
    name: str, embedder: Embedder, corpus: Path, index_dir: Path, items: list[EvalItem], **store
) -> tuple[Wenda, BackendResult]:
    """Build + open, score every question (default mode); the core stays open for timing."""
    core, build_s = open_core(corpus, index_dir, embedder, **store)
    top1: dict[str, int | None] = {}

    def ask(question: str) -> Answer:
        answer = core.ask(question, top_k=10)
        top1[question] = answer.passages[0].chunk_id if answer.passages else None
        return answer

    result = evaluate(items, ask)
    log(f"backends: {name} hit@1 {result.metrics['hit@1']:.3f}")
    return core, BackendResult(name, core.status().chunks, result.metrics, build_s, top1=top1)


def interleaved_latency(
    embedder: Embedder, rows: list[tuple[Wenda, BackendResult]], questions: list[str]
) -> list[float]:
    """``ask()`` p50/p99 per backend, taken in turns per question so that the load of this
    shared machine hits both alike; returns the bare question-encode times (the floor)."""
    times: list[list[float]] = [[] for _ in rows]
    encode: list[float] = []
    for q in questions:
        t0 = time.perf_counter()
        embedder.encode_queries([q])
        encode.append((time.perf_counter() - t0) * 1000)
        for (core, _), out in zip(rows, times, strict=True):
            t0 = time.perf_counter()
            core.ask(q)
            out.append((time.perf_counter() - t0) * 1000)
    for (_, result), out in zip(rows, times, strict=True):
        result.p50, result.p99 = median(out), percentile(out, 99)
    return encode


def run_backends(
    embedder: Embedder, work: Path, limit: int | None = None, path: Path = CMRC_FILE
) -> tuple[str, list[BackendResult]]:
    paragraphs = load_cmrc(path)
    items = eval_items(paragraphs)[:limit] if limit else eval_items(paragraphs)
    corpus = work / "backends_corpus"
    write_corpus(paragraphs, corpus)
    root = work / "backends"
    shutil.rmtree(root, ignore_errors=True)
    opened: list[tuple[Wenda, BackendResult]] = []
    try:
        opened.append(
            build_and_score("local (FAISS + bm25s + SQLite)", embedder, corpus, root / "l", items)
        )
        with milvus_lite_server(root / "milvus_data") as uri:
            opened.append(
                build_and_score(
                    "Milvus (milvus-lite server, gRPC)",
                    embedder,
                    corpus,
                    root / "milvus_lock",
                    items,
                    store="milvus",
                    milvus_uri=uri,
                )
            )
            questions = [i.question for i in items[:LATENCY_QUESTIONS]]
            encode = interleaved_latency(embedder, opened, questions)
            changed = sorted(corpus.glob("*.txt"))[0]  # one document edited: incremental
            changed.write_text(changed.read_text("utf-8") + "\n补充一句，测量增量重建。\n", "utf-8")
            for core, result in opened:
                t0 = time.perf_counter()
                core.reindex()
                result.incremental_s = time.perf_counter() - t0
    finally:
        for core, _ in opened:
            core.close()
    rows = [result for _, result in opened]
    local, milvus = rows
    same = sum(local.top1[q] == milvus.top1.get(q) for q in local.top1)
    gap = abs(local.metrics["hit@1"] - milvus.metrics["hit@1"])
    table = md_table(
        HEADERS,
        [
            (
                r.name,
                r.chunks,
                *(f"{r.metrics[k]:.3f}" for k in ("hit@1", "hit@5", "mrr@10")),
                f"{r.build_s:.1f}",
                f"{r.incremental_s:.2f}",
                f"{r.p50:.1f}",
                f"{r.p99:.1f}",
            )
            for r in rows
        ],
    )
    text = "\n".join(
        [
            f"### Store backends: local vs Milvus (CMRC 2018 trial, {len(items)} questions)",
            "",
            "Default mode (hybrid + rerank), same embedder, one run. Build = full build from "
            "the corpus including embedding; ask() latency over the first "
            f"{min(len(items), LATENCY_QUESTIONS)} questions, the two backends taking turns.",
            "",
            table,
            "",
            f"hit@1 gap: {gap:.3f} (issue 11 requires ≤ 0.01); same top passage for "
            f"{same} of {len(local.top1)} questions. Bare question encode (the floor of both): "
            f"p50 {median(encode):.1f} ms, so the store part of ask() is about "
            f"{local.p50 - median(encode):.1f} ms locally and "
            f"{milvus.p50 - median(encode):.1f} ms on Milvus.",
        ]
    )
    return text, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="score only the first N questions")
    parser.add_argument("--model", default=None, help="embedder (default: the real default model)")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args(argv)
    embedder = bench_embedder(args.model)
    WORK.mkdir(parents=True, exist_ok=True)
    text, _ = run_backends(embedder, WORK / "backends_run", args.limit)
    write_report(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
