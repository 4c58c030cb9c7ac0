"""``POST /ask`` over loopback against a real ``wenda serve`` subprocess, 1..16 clients.

Why: the HTTP layer, its threadpool and concurrent model calls are where a fast core can
still give slow answers. The server runs as a separate process, exactly as users start it,
so its peak RSS (VmHWM) is the memory a deployment needs. Requests are bounded per level.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import httpx
from wenda.index.embedding.base import Embedder

from bench.common import (
    REPO,
    SEED_CORPUS,
    free_port,
    hwm_mib,
    log,
    md_table,
    median,
    percentile,
    rss_mib,
)
from bench.latency import bench_questions

# `wenda serve` without an installed entry point (the bench must not need `pip install -e`):
# the same function the CLI plugin calls, with the same settings source (WENDA_* env).
_SHIM = (
    "import argparse, sys; from wenda.index.settings import Settings; "
    "from wenda.api.cli import run; "
    "sys.exit(run(argparse.Namespace(host='127.0.0.1', port=int(sys.argv[1]), "
    "log_level='info'), Settings()))"
)


@dataclass(frozen=True)
class Target:
    """A prebuilt index to serve; ``env`` adds variables (e.g. a thread cap) to the server."""

    label: str
    corpus: Path
    index_dir: Path
    env: tuple[tuple[str, str], ...] = ()


def http_targets(seeds_index: Path, large: list[tuple[str, Path, Path]]) -> list[Target]:
    """The seed corpus, then any larger prebuilt corpora."""
    return [
        Target("seed corpus", SEED_CORPUS, seeds_index),
        *(Target(label, corpus, index_dir) for label, corpus, index_dir in large),
    ]


@dataclass
class Level:
    clients: int
    latencies: list[float]
    errors: int
    seconds: float

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def serve_command(port: int) -> list[str]:
    if any(ep.name == "serve" for ep in entry_points(group="wenda.commands")):
        return [sys.executable, "-m", "wenda.index.cli", "serve", "--port", str(port)]
    return [sys.executable, "-c", _SHIM, str(port)]


def start_server(target: Target, model: str | None, log_path: Path):
    """Start the server on a free loopback port; returns (process, base_url)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENDA_")}
    env.update(
        WENDA_CORPUS_DIR=str(target.corpus),
        WENDA_INDEX_DIR=str(target.index_dir),
        WENDA_HOST="127.0.0.1",
        PYTHONPATH=str(REPO),
        **dict(target.env),
    )
    if model:
        env["WENDA_MODEL"] = model
    logf = log_path.open("w")
    proc = subprocess.Popen(
        serve_command(port), cwd=log_path.parent, env=env, stdout=logf, stderr=logf
    )
    return proc, f"http://127.0.0.1:{port}"


def wait_ready(proc: subprocess.Popen, url: str, timeout: float = 600.0) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                return time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError("server not ready")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _load(url: str, questions: list[str], clients: int, total: int) -> Level:
    """``clients`` workers share a counter; each sends one request at a time."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in counter:
            body = {"question": questions[i % len(questions)], "top_k": 5}
            t0 = time.perf_counter()
            try:
                resp = await client.post(f"{url}/ask", json=body)
                ok = resp.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                errors += 1

    async with httpx.AsyncClient(timeout=120.0, limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        seconds = time.perf_counter() - t0
    return Level(clients, latencies, errors, seconds)


def encode_floor(embedder: Embedder, questions: list[str], n: int = 60) -> float:
    """Median ms of the bare query encode, measured in this process in the same run."""
    for q in questions[:3]:
        embedder.encode_queries([q])
    times = []
    for q in questions[:n]:
        t0 = time.perf_counter()
        embedder.encode_queries([q])
        times.append((time.perf_counter() - t0) * 1000)
    return median(times)


def batched_encode_ms(
    embedder: Embedder, questions: list[str], batch: int, rounds: int = 5
) -> float:
    """Median ms per question when ``batch`` questions share one encode call: the headroom
    a server that micro-batches concurrent questions would have."""
    times = []
    for r in range(rounds):
        group = questions[r * batch : (r + 1) * batch]
        t0 = time.perf_counter()
        embedder.encode_queries(group)
        times.append((time.perf_counter() - t0) * 1000 / len(group))
    return median(times)


def run_http(
    embedder: Embedder,
    targets: list[Target],
    levels: list[int],
    requests: int,
    model: str | None = None,
) -> str:
    """Load-test one server per target (each over a prebuilt index)."""
    questions = bench_questions(400)
    rows, mem_rows, notes = [], [], []
    for target in targets:
        label = target.label
        log_path = target.index_dir.parent / f"serve-{label.replace(' ', '_')}.log"
        proc, url = start_server(target, model, log_path)
        try:
            ready = wait_ready(proc, url)
            log(f"http: {label} server ready in {ready:.1f} s (pid {proc.pid})")
            idle_rss = rss_mib(proc.pid)
            asyncio.run(_load(url, questions[200:], 2, 10))  # warm-up, not timed
            floor = encode_floor(embedder, questions)
            batched = batched_encode_ms(embedder, questions, max(levels))
            for clients in levels:
                log(f"http: {label}, {clients} clients x {requests} requests")
                lv = asyncio.run(_load(url, questions, clients, requests))
                p50 = median(lv.latencies)
                rows.append(
                    (
                        label,
                        clients,
                        len(lv.latencies),
                        lv.errors,
                        f"{p50:.1f}",
                        f"{percentile(lv.latencies, 99):.1f}",
                        f"{lv.rps:.1f}",
                        f"{floor:.1f}",
                        f"{p50 / floor:.2f}x",
                        f"{p50 - floor:+.1f}",
                    )
                )
            chunks = httpx.get(f"{url}/readyz", timeout=5).json()
            mem_rows.append((label, _chunks(chunks), f"{idle_rss:.0f}", f"{hwm_mib(proc.pid):.0f}"))
            notes.append(
                f"- {label}: encoding {max(levels)} questions in one call costs "
                f"{batched:.1f} ms per question vs {floor:.1f} ms one at a time "
                f"({floor / batched:.1f}x): the most {max(levels)} concurrent requests could "
                f"gain from micro-batching the encoder (ceiling ~{1000 / batched:.0f} req/s)."
            )
        finally:
            stop_server(proc)
    return "\n".join(
        [
            "### POST /ask over loopback (`wenda serve` subprocess, httpx clients)",
            "",
            f"{requests} requests per level, questions cycled (seeds dev + CMRC). The load "
            "generator shares the 2 cores with the server. `encode p50` is the bare "
            "`encode_queries([q])` in the bench process, measured just before the levels "
            "(the machine's load drifts, so the ratio is read against this floor, not an "
            "earlier one); the last column is what retrieval, answer composition, HTTP, "
            "JSON, the threadpool and queueing add on top of the encode.",
            "",
            md_table(
                [
                    "corpus",
                    "clients",
                    "ok",
                    "errors",
                    "p50 ms",
                    "p99 ms",
                    "req/s",
                    "encode p50 ms",
                    "p50/encode",
                    "p50 minus encode ms",
                ],
                rows,
            ),
            "",
            *notes,
            "",
            "### Server memory (`wenda serve`, /proc/<pid>/status)",
            "",
            md_table(["corpus", "chunks", "RSS when ready MiB", "peak RSS (VmHWM) MiB"], mem_rows),
        ]
    )


def _chunks(readyz: object) -> str:
    """Chunk count from the /readyz body if it reports one (its shape belongs to api/)."""
    if isinstance(readyz, dict):
        for key in ("chunks", "chunk_count"):
            if key in readyz:
                return str(readyz[key])
        for value in readyz.values():
            if isinstance(value, dict) and "chunks" in value:
                return str(value["chunks"])
    return "?"
