"""Model cache size, memory and start-up of the default encoder, and cost against corpus size.

Why (issue 14): the model was stored twice in fp32 (914 MB), `wenda serve` peaked at
1.2 GiB on a 76-chunk corpus and `wenda ask` took 3-4 s from a cold process. Every figure
here comes from real subprocesses (`wenda model prepare`, `wenda index`, `wenda serve`,
`wenda ask`) whose peak RSS is the kernel's own count (``wait4`` rusage or ``VmHWM``).

    python bench/memory.py [--sizes 1000 10000] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    REPO,
    SEED_CORPUS,
    WORK,
    hwm_mib,
    log,
    machine_info,
    md_table,
    median,
    percentile,
    write_report,
)
from bench.http_load import Target, start_server, stop_server, wait_ready

QUESTION = "成达万高铁何时获得批复？"
_COLD_PROBE = """
import sys, time
t0 = time.perf_counter()
from wenda.index.settings import Settings
from wenda.index.core import Wenda
t1 = time.perf_counter()
from wenda.index.embedding.base import load_embedder
settings = Settings()
embedder = load_embedder(settings)
t2 = time.perf_counter()
core = Wenda.open(settings, embedder=embedder)
t3 = time.perf_counter()
core.ask(sys.argv[1])
t4 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f} {t4 - t3:.3f}")
"""


def run_measured(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, the child's peak RSS in MiB from ``wait4``, its stdout)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd} failed: {err.read().decode(errors='replace')[-800:]}")
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENDA_")}
    env.update(PYTHONPATH=str(REPO), **extra)
    return env


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def prepare(cache: Path, backend: str) -> dict:
    """First-run preparation in an empty cache: seconds, peak RSS, size on disk."""
    env = base_env(WENDA_MODEL_CACHE_DIR=str(cache), WENDA_MODEL_BACKEND=backend)
    seconds, peak, _ = run_measured(
        [sys.executable, "-m", "wenda.index.cli", "model", "prepare"], env, cache.parent
    )
    return {"seconds": seconds, "peak_mib": peak, "size_mb": dir_mb(cache)}


def build(corpus: Path, index_dir: Path, cache: Path, backend: str = "auto") -> dict:
    env = base_env(
        WENDA_CORPUS_DIR=str(corpus),
        WENDA_INDEX_DIR=str(index_dir),
        WENDA_MODEL_CACHE_DIR=str(cache),
        WENDA_MODEL_BACKEND=backend,
    )
    seconds, peak, out = run_measured(
        [sys.executable, "-m", "wenda.index.cli", "index", "--full", "--json"], env, REPO
    )
    report = json.loads(out[out.index("{") :])
    return {"seconds": seconds, "peak_mib": peak, "chunks": int(report.get("chunks_total", 0))}


def serve(corpus: Path, index_dir: Path, cache: Path, backend: str, asks: int = 30) -> dict:
    """Peak RSS of `wenda serve` through start-up and ``asks`` questions; POST /ask p50."""
    env = (("WENDA_MODEL_CACHE_DIR", str(cache)), ("WENDA_MODEL_BACKEND", backend))
    target = Target("bench", corpus, index_dir, env)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        proc, url = start_server(target, None, Path(tmp) / "serve.log")
        try:
            ready = wait_ready(proc, url)
            times, failed = [], 0
            with httpx.Client(timeout=60) as client:
                for i in range(asks + 3):
                    t0 = time.perf_counter()
                    status = client.post(f"{url}/ask", json={"question": QUESTION}).status_code
                    if i >= 3:
                        times.append((time.perf_counter() - t0) * 1000)
                        failed += status != 200
            peak = hwm_mib(proc.pid)
        finally:
            stop_server(proc)
    return {
        "ready_s": ready,
        "peak_mib": peak,
        "ask_p50_ms": median(times),
        "ask_p99_ms": percentile(times, 99),
    }


def cold_ask(corpus: Path, index_dir: Path, cache: Path, backend: str, runs: int = 3) -> dict:
    """`wenda ask` from a fresh process (wall), and the probe's phase split (medians)."""
    env = base_env(
        WENDA_CORPUS_DIR=str(corpus),
        WENDA_INDEX_DIR=str(index_dir),
        WENDA_MODEL_CACHE_DIR=str(cache),
        WENDA_MODEL_BACKEND=backend,
    )
    walls, phases = [], []
    for _ in range(runs):
        seconds, _, _ = run_measured(
            [sys.executable, "-m", "wenda.index.cli", "ask", QUESTION], env, REPO
        )
        walls.append(seconds)
        _, _, out = run_measured([sys.executable, "-c", _COLD_PROBE, QUESTION], env, REPO)
        phases.append([float(x) for x in out.split()])
    split = [median([p[i] for p in phases]) for i in range(4)]
    return {
        "wall_s": median(walls),
        "imports": split[0],
        "model": split[1],
        "index": split[2],
        "first_ask": split[3],
    }


def encode_p50(cache: Path) -> float:
    """The bare question encode in this process (the floor of /ask)."""
    from wenda.index.embedding.base import load_embedder
    from wenda.index.settings import Settings

    embedder = load_embedder(Settings(_env_file=None, model_cache_dir=cache))
    for _ in range(5):  # warm-up, as the server had (first calls allocate and spin up)
        embedder.encode_queries([QUESTION])
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        embedder.encode_queries([QUESTION])
        times.append((time.perf_counter() - t0) * 1000)
    return median(times)


def scale_rows(work: Path, cache: Path, sizes: list[int]) -> list[list[object]]:
    """Build seconds, build peak RSS and serve peak RSS per corpus size.

    Documents of 2-4 paragraphs drawn from CMRC (simplified) and DRCD (traditional), 1,256
    paragraphs in all, so a 100k-chunk corpus repeats each about 12 times, in different
    documents, titles and neighbours (the builder reuses vectors per document only, so
    every chunk is embedded)."""
    from bench.build import make_corpus
    from bench.cmrc import load_cmrc
    from bench.script_folding import DRCD_FILE

    paragraphs = load_cmrc() + load_cmrc(DRCD_FILE)
    rows: list[list[object]] = []
    for target in sizes:
        corpus, index_dir = work / f"corpus_{target}", work / f"index_{target}"
        docs = max(1, round(target / 6.8))  # measured: 6.8 chunks per 2-4-paragraph document
        make_corpus(corpus, docs, paragraphs=paragraphs)
        log(f"memory: building ~{target} chunks ({docs} documents)")
        b = build(corpus, index_dir, cache)
        s = serve(corpus, index_dir, cache, "auto", asks=10)
        rows.append(
            [
                f"{b['chunks']:,}",
                f"{b['seconds']:.0f}",
                f"{b['chunks'] / b['seconds']:.1f}",
                f"{b['peak_mib']:.0f}",
                f"{s['peak_mib']:.0f}",
                f"{s['ask_p50_ms']:.1f}",
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--skip-torch", action="store_true", help="no torch-backend rows")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    info = machine_info()
    lines = [
        f"## Model memory and start-up ({info['cpu']}, {info['nproc']} cores, "
        f"load {info['load_avg']}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})"
    ]
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        work = Path(tmp)
        backends = ["auto"] if args.skip_torch else ["auto", "torch"]
        rows = []
        for backend in backends:
            cache = work / f"cache_{backend}"
            log(f"memory: prepare ({backend})")
            p = prepare(cache, backend)
            index_dir = work / f"seed_index_{backend}"
            build(SEED_CORPUS, index_dir, cache, backend)
            log(f"memory: serve ({backend})")
            s = serve(SEED_CORPUS, index_dir, cache, backend)
            log(f"memory: cold ask ({backend})")
            c = cold_ask(SEED_CORPUS, index_dir, cache, backend)
            enc = encode_p50(cache) if backend == "auto" else float("nan")
            rows.append(
                [
                    backend,
                    f"{p['size_mb']:.0f}",
                    f"{p['peak_mib']:.0f}",
                    f"{p['seconds']:.0f}",
                    f"{s['peak_mib']:.0f}",
                    f"{s['ready_s']:.1f}",
                    f"{enc:.1f}",
                    f"{s['ask_p50_ms']:.1f}",
                    f"{s['ask_p50_ms'] / enc:.2f}" if enc == enc else "–",
                    f"{c['wall_s']:.2f}",
                    " / ".join(f"{c[k]:.2f}" for k in ("imports", "model", "index", "first_ask")),
                ]
            )
        lines += [
            "",
            md_table(
                [
                    "backend",
                    "cache MB",
                    "prepare peak MiB",
                    "prepare s",
                    "serve peak MiB",
                    "serve ready s",
                    "encode p50 ms",
                    "POST /ask p50 ms (httpx, 30 right after start-up)",
                    "/ask ÷ encode",
                    "cold `wenda ask` s",
                    "cold split s: imports / model / index / ask",
                ],
                rows,
            ),
        ]
        if args.sizes:
            cache = work / "cache_auto"
            lines += [
                "",
                "### Cost against corpus size (default backend)",
                "",
                md_table(
                    [
                        "chunks",
                        "build s",
                        "chunks/s",
                        "build peak MiB",
                        "serve peak MiB",
                        "POST /ask p50 ms (httpx, 30 right after start-up)",
                    ],
                    scale_rows(work, cache, args.sizes),
                ),
            ]
    write_report(args.out, "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
