"""Query-encoder throughput with concurrent callers, per onnxruntime thread setting.

Why: ``wenda serve`` answers in a threadpool, so several questions are encoded at once.
The shipped ONNX session uses every core for each call (intra-op threads = cores, with
spin-waiting); concurrent calls then fight over the same cores. This measures, in one run,
the session as shipped against one-thread sessions (parallelism comes from the callers
instead) and a no-spin variant, so the fix can be judged by a ratio rather than a guess.
"""

from __future__ import annotations

import copy
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wenda.index.embedding.base import Embedder

from bench.common import log, md_table, median, percentile

VARIANTS = (("as shipped", None, True), ("1 thread", 1, True), ("cores, no spin", None, False))


@dataclass
class Run:
    variant: str
    callers: int
    qps: float
    p50_ms: float
    p99_ms: float


def _session_variant(encoder: object, threads: int | None, spin: bool) -> object | None:
    """A copy of an OnnxEncoder whose session has other thread options; None if not ONNX."""
    session = getattr(encoder, "session", None)
    path = getattr(session, "_model_path", None)
    if session is None or path is None:
        return None
    import onnxruntime as ort
    from wenda.index.embedding.onnx_encoder import available_cores

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or available_cores()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    clone = copy.copy(encoder)
    clone.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return clone


def _drive(
    encode, questions: list[str], callers: int, per_caller: int
) -> tuple[float, list[float]]:
    """``callers`` threads each encode ``per_caller`` single questions; (q/s, latencies)."""
    lat: list[float] = []
    lock = threading.Lock()

    def work(offset: int) -> None:
        mine = []
        for i in range(per_caller):
            q = questions[(offset * per_caller + i) % len(questions)]
            t0 = time.perf_counter()
            encode(q)
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=work, args=(c,)) for c in range(callers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(lat) / (time.perf_counter() - t0), lat


def run_encoder_threads(
    embedder: Embedder, questions: list[str], callers: tuple[int, ...] = (1, 2, 4), total: int = 120
) -> str:
    """Markdown table; a note instead when the embedder is not the ONNX one."""
    base = getattr(embedder, "_encoder", None)
    prompt = getattr(embedder, "query_prompt", "")
    variants = []
    for label, threads, spin in VARIANTS:
        enc = base if label == "as shipped" else _session_variant(base, threads, spin)
        if enc is not None and hasattr(enc, "encode"):
            variants.append((label, enc))
    if not variants or getattr(base, "session", None) is None:
        return "### Query encoder under concurrent callers\n\n(not an ONNX embedder: skipped)"
    runs: list[Run] = []
    for n in callers:
        for label, enc in variants:  # interleaved, so machine noise hits every variant alike

            def encode(q: str, enc=enc) -> object:
                return enc.encode([q], prompt, 32, False)

            _drive(encode, questions, 1, 3)  # warm-up
            log(f"encoder threads: {label}, {n} callers")
            qps, lat = _drive(encode, questions, n, max(10, total // n))
            runs.append(Run(label, n, qps, median(lat), percentile(lat, 99)))
    rows = [
        (r.variant, r.callers, f"{r.qps:.1f}", f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}") for r in runs
    ]
    best = {n: max((r for r in runs if r.callers == n), key=lambda r: r.qps) for n in callers}
    shipped = {r.callers: r for r in runs if r.variant == "as shipped"}
    notes = [
        f"- {n} callers: best is `{b.variant}` at {b.qps:.0f} q/s, "
        f"{b.qps / shipped[n].qps:.2f}x the shipped session"
        for n, b in best.items()
    ]
    return "\n".join(
        [
            "### Query encoder under concurrent callers (in-process, single-question calls)",
            "",
            "Same model file; only onnxruntime's session options differ. `as shipped`: "
            "intra-op threads = cores, spin-waiting on; `1 thread`: one intra-op thread per "
            "call; `cores, no spin`: as shipped but threads sleep instead of spinning.",
            "",
            md_table(["session", "callers", "questions/s", "p50 ms", "p99 ms"], rows),
            "",
            *notes,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    import argparse

    from wenda.index.embedding.base import load_embedder
    from wenda.index.settings import Settings

    from bench.common import write_report
    from bench.latency import bench_questions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=120, help="encodes per cell")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args(argv)
    embedder = load_embedder(Settings(_env_file=None))
    write_report(args.out, run_encoder_threads(embedder, bench_questions(200), total=args.total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
