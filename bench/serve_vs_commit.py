"""``POST /ask`` throughput and p50 at 1-8 clients: this checkout against an earlier commit.

Why: the lone-client fast path (answers on the event loop), the helper thread beside the
encoder and the passages read ahead all change how ``wenda serve`` uses its two cores, so
they must not cost concurrent clients what they save a single one. Both versions run as
real ``wenda serve`` processes on the seed corpus, in alternating rounds, with httpx
clients cycling the seeds dev questions. The earlier commit is checked out into a git
worktree; a link tree (``wenda/index`` → the worktree's ``index/`` ...) on PYTHONPATH makes
its code, not the editable install's, the ``wenda`` package.

    python bench/serve_vs_commit.py [--commit ee545de] [--rounds 2] [--requests 240]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wenda.index.evaluation import load_jsonl

from bench.common import (
    SEED_CORPUS,
    SEEDS_DEV,
    WORK,
    free_port,
    link_tree,
    log,
    machine_info,
    md_table,
    median,
    worktree,
    write_report,
)
from bench.http_load import stop_server, wait_ready

LEVELS = (1, 2, 4, 8)


def serve(pythonpath: str | None, index_dir: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENDA_")}
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env.update(WENDA_CORPUS_DIR=str(SEED_CORPUS), WENDA_INDEX_DIR=str(index_dir))
    cmd = [sys.executable, "-m", "wenda.index.cli", "serve", "--port", str(port)]
    with log_path.open("w") as out:
        proc = subprocess.Popen([*cmd, "--log-level", "warning"], env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url)
    return proc, url


async def level(url: str, clients: int, requests: int, questions: list[str]) -> tuple[float, float]:
    """(requests per second, p50 ms) with ``clients`` keep-alive connections."""
    latencies: list[float] = []

    async def client(i: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            for k in range(requests // clients):
                q = questions[(i * 7 + k) % len(questions)]
                t0 = time.perf_counter()
                (await http.post("/ask", json={"question": q})).raise_for_status()
                latencies.append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return len(latencies) / (time.perf_counter() - t0), median(latencies)


def compare(commit: str, rounds: int, requests: int, work: Path) -> str:
    questions = [item.question for item in load_jsonl(SEEDS_DEV)]
    got: dict[tuple[str, int], list[tuple[float, float]]] = {}
    with worktree(commit, work / "tree") as tree:
        sides = {f"commit {commit}": link_tree(tree, work / "shim"), "this checkout": None}
        for r in range(rounds):
            for i, (label, pythonpath) in enumerate(sides.items()):
                log(f"serve_vs_commit: round {r + 1}, {label}")
                proc, url = serve(pythonpath, work / f"index_{i}", work / f"serve_{i}.log")
                try:
                    time.sleep(2)  # let the startup build's after-effects settle
                    for clients in LEVELS:
                        got.setdefault((label, clients), []).append(
                            asyncio.run(level(url, clients, requests, questions))
                        )
                finally:
                    stop_server(proc)
    rows = []
    labels = list(sides)
    for clients in LEVELS:
        base, mine = (got[(label, clients)] for label in labels)
        base_rps, mine_rps = median([x for x, _ in base]), median([x for x, _ in mine])
        rows.append(
            [
                str(clients),
                f"{base_rps:.0f}",
                f"{mine_rps:.0f}",
                f"**{mine_rps / base_rps:.2f}**",
                f"{median([p for _, p in base]):.1f}",
                f"{median([p for _, p in mine]):.1f}",
            ]
        )
    info = machine_info()
    header = [
        "clients",
        f"req/s {labels[0]}",
        "req/s this checkout",
        "ratio",
        f"p50 ms {labels[0]}",
        "p50 ms this checkout",
    ]
    return "\n".join(
        [
            f"### POST /ask at 1-8 clients against commit {commit} ({info['cpu']}, load "
            f"{info['load_avg']}, {rounds} rounds x {requests} requests per level, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
            "",
            md_table(header, rows),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", default="ee545de", help="the version to compare against")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=240, help="requests per level")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        text = compare(args.commit, args.rounds, args.requests, Path(tmp))
    write_report(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
