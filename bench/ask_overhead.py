"""``POST /ask`` against the bare question encode, one client over loopback (issue 14).

Why: issue 14 asks that ``POST /ask`` at one client cost at most 1.5x the bare encode of
the question. Encode speed drifts with the machine's load, so every round measures both,
back to back: the bare ``encode_queries([q])`` in this process, then the same questions
through a real ``wenda serve`` subprocess on the seed corpus, with the standard library's
keep-alive ``http.client`` (the least client-side work) and with ``httpx`` (what most
Python callers use). Two question sets: the one fixed question ``bench/memory.py`` uses,
and the seeds dev questions cycled (different lengths and passages every request, so the
encoder's caches are as cold as in real use). The server's own ``took_ms`` (``core.ask``)
splits the rest into core work and HTTP + framework.

    python bench/ask_overhead.py [--rounds 3] [--repeats 20] [--out FILE]
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wenda.index.embedding.base import Embedder, load_embedder
from wenda.index.evaluation import load_jsonl
from wenda.index.settings import Settings

from bench.common import (
    SEED_CORPUS,
    SEEDS_DEV,
    WORK,
    log,
    machine_info,
    md_table,
    median,
    write_report,
)
from bench.http_load import Target, start_server, stop_server, wait_ready
from bench.memory import QUESTION

WARM = 5  # requests (and encodes) per set before timing: first calls allocate


def bare_encode(embedder: Embedder, questions: list[str], repeats: int) -> list[float]:
    """ms per ``encode_queries([q])``, questions in the order the server gets them."""
    encode = embedder.encode_queries
    for q in questions[:WARM]:
        encode([q])
    times = []
    for _ in range(repeats):
        for q in questions:
            t0 = time.perf_counter()
            encode([q])
            times.append((time.perf_counter() - t0) * 1000)
    return times


def stdlib_asks(port: int, questions: list[str], repeats: int) -> tuple[list[float], list[float]]:
    """(client ms, server ``took_ms``) per request over one kept-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    wall, took = [], []
    warm = questions[:WARM]
    try:
        for n, q in enumerate([*warm, *questions * repeats]):
            body = json.dumps({"question": q}, ensure_ascii=False).encode()
            t0 = time.perf_counter()
            conn.request("POST", "/ask", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            elapsed = (time.perf_counter() - t0) * 1000
            if response.status != 200:
                raise RuntimeError(f"POST /ask answered {response.status}: {data[:200]!r}")
            if n >= len(warm):
                wall.append(elapsed)
                took.append(float(json.loads(data)["took_ms"]))
    finally:
        conn.close()
    return wall, took


def httpx_asks(url: str, questions: list[str], repeats: int) -> list[float]:
    wall = []
    warm = questions[:WARM]
    with httpx.Client(timeout=60) as client:
        for n, q in enumerate([*warm, *questions * repeats]):
            t0 = time.perf_counter()
            client.post(f"{url}/ask", json={"question": q}).raise_for_status()
            if n >= len(warm):
                wall.append((time.perf_counter() - t0) * 1000)
    return wall


def measure(rounds: int, repeats: int, work: Path) -> str:
    sets = {
        "fixed question": [QUESTION] * 6,
        "seeds dev, cycled": [item.question for item in load_jsonl(SEEDS_DEV)],
    }
    work.mkdir(parents=True, exist_ok=True)
    index_dir = work / "seed_index"
    embedder = load_embedder(Settings(_env_file=None))
    proc, url = start_server(Target("seeds", SEED_CORPUS, index_dir), None, work / "serve.log")
    port = int(url.rsplit(":", 1)[1])
    got: dict[str, dict[str, list[float]]] = {name: {} for name in sets}
    try:
        log(f"ask_overhead: server ready in {wait_ready(proc, url):.1f} s (built the index)")
        for r in range(rounds):
            for name, questions in sets.items():
                log(f"ask_overhead: round {r + 1}, {name}")
                row = got[name]
                row.setdefault("encode", []).append(
                    median(bare_encode(embedder, questions, repeats))
                )
                wall, took = stdlib_asks(port, questions, repeats)
                row.setdefault("stdlib", []).append(median(wall))
                row.setdefault("took", []).append(median(took))
                row.setdefault("httpx", []).append(median(httpx_asks(url, questions, repeats)))
    finally:
        stop_server(proc)
    rows = []
    for name, row in got.items():
        enc, std, took, hx = (median(row[k]) for k in ("encode", "stdlib", "took", "httpx"))
        rows.append(
            [
                name,
                f"{enc:.2f}",
                f"{std:.2f}",
                f"**{std / enc:.2f}**",
                f"{took:.2f}",
                f"{std - took:.2f}",
                f"{hx:.2f}",
                f"{hx / enc:.2f}",
                " / ".join(
                    f"{s / e:.2f}" for s, e in zip(row["stdlib"], row["encode"], strict=True)
                ),
            ]
        )
    info = machine_info()
    header = [
        "questions",
        "bare encode p50 ms",
        "POST /ask p50 ms (http.client)",
        "÷ encode",
        "server took_ms p50",
        "HTTP + framework ms",
        "POST /ask p50 ms (httpx)",
        "÷ encode",
        "÷ encode per round",
    ]
    return "\n".join(
        [
            f"### POST /ask against the bare encode ({info['cpu']}, load {info['load_avg']}, "
            f"{rounds} rounds x {repeats} passes, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
            "",
            md_table(header, rows),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20, help="passes over each set per round")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        text = measure(args.rounds, args.repeats, Path(tmp))
    write_report(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
