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

from bench.common import REPO, free_port, hwm_mib, log, md_table, median, percentile, rss_mib
from bench.latency import bench_questions
from index.embedding import Embedder

# `wenda serve` without an installed entry point (the bench must not need `pip install -e`):
# the same function the CLI plugin calls, with the same settings source (WENDA_* env).
_SHIM = (
    "import argparse, sys; from index.settings import Settings; from api.cli import run; "
    "sys.exit(run(argparse.Namespace(host='127.0.0.1', port=int(sys.argv[1]), "
    "log_level='info'), Settings()))"
)


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
        return [sys.executable, "-m", "index.cli", "serve", "--port", str(port)]
    return [sys.executable, "-c", _SHIM, str(port)]


def start_server(corpus: Path, index_dir: Path, model: str | None, log_path: Path):
    """Start the server on a free loopback port; returns (process, base_url)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENDA_")}
    env.update(
        WENDA_CORPUS_DIR=str(corpus),
        WENDA_INDEX_DIR=str(index_dir),
        WENDA_HOST="127.0.0.1",
        PYTHONPATH=str(REPO),
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


def run_http(
    embedder: Embedder,
    targets: list[tuple[str, Path, Path]],
    levels: list[int],
    requests: int,
    model: str | None = None,
) -> str:
    """Load-test a server per (label, corpus_dir, prebuilt index_dir) target."""
    questions = bench_questions(400)
    rows, mem_rows = [], []
    for label, corpus, index_dir in targets:
        proc, url = start_server(corpus, index_dir, model, index_dir.parent / f"serve-{label}.log")
        try:
            ready = wait_ready(proc, url)
            log(f"http: {label} server ready in {ready:.1f} s (pid {proc.pid})")
            idle_rss = rss_mib(proc.pid)
            asyncio.run(_load(url, questions[200:], 2, 10))  # warm-up, not timed
            floor = encode_floor(embedder, questions)
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
                    )
                )
            chunks = httpx.get(f"{url}/readyz", timeout=5).json()
            mem_rows.append((label, _chunks(chunks), f"{idle_rss:.0f}", f"{hwm_mib(proc.pid):.0f}"))
        finally:
            stop_server(proc)
    return "\n".join(
        [
            "### POST /ask over loopback (`wenda serve` subprocess, httpx clients)",
            "",
            f"{requests} requests per level, questions cycled (seeds dev + CMRC). The load "
            "generator shares the 2 cores with the server. `encode p50` is the bare "
            "`encode_queries([q])` in the bench process, measured just before the levels.",
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
                ],
                rows,
            ),
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
