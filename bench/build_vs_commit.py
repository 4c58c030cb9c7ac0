"""Full-build throughput of this checkout against the code of an earlier commit, same run.

Why: issue 14 asks for 2x the full-build throughput of the build as it was when the issue
was filed, not of today's builder with the old encoder swapped in. So the old commit is
checked out into a git worktree and both builds run as real CLI subprocesses
(``index --full --json``) over one corpus, alternating rounds; the throughput is read
from each build report's own ``seconds`` (model load excluded on both sides). Each side
first builds the bundled corpus once untimed, so model conversion and caches are warm;
after each build round, a fresh process of each version times ``core.ask()`` over the
seeds dev questions on that seed index (issue 14: no slower than before, same run).

    python bench/build_vs_commit.py --commit dd7577c --docs 100 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wenda.index.evaluation import load_jsonl

from bench.build import make_corpus
from bench.common import (
    SEED_CORPUS,
    SEEDS_DEV,
    WORK,
    checkout_package,
    log,
    md_table,
    worktree,
    write_report,
)

BASELINE = "dd7577c"
"""The last commit before issue 14's work: fp32 ONNX export, 32-text batches, one session."""


_ASK_PROBE = """
import json, statistics, sys, time
pkg = sys.argv[1]
core_mod = __import__(pkg + ".core", fromlist=["Wenda"])
settings_mod = __import__(pkg + ".settings", fromlist=["Settings"])
core = core_mod.Wenda.open(settings_mod.Settings())
questions = json.loads(sys.argv[2])
for q in questions[:5]:
    core.ask(q)
times = []
for _ in range(3):
    for q in questions:
        t0 = time.perf_counter()
        core.ask(q)
        times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"p50": statistics.median(times)}))
"""


@dataclass
class Side:
    """One code version: where its package lives, and what was measured."""

    package: str  # "index" before the layout change, "wenda.index" after
    pythonpath: str | None  # the worktree holding that version, None for this checkout
    seed_index: Path = Path()
    chunks: int = 0
    seconds: list[float] = field(default_factory=list)
    ask_p50: list[float] = field(default_factory=list)

    def run(self, args: list[str], corpus: Path, index_dir: Path) -> str:
        """``python <args>`` of this version over ``corpus``/``index_dir``; its stdout."""
        env = {**os.environ, "WENDA_CORPUS_DIR": str(corpus), "WENDA_INDEX_DIR": str(index_dir)}
        env.pop("PYTHONPATH", None)
        if self.pythonpath:
            env["PYTHONPATH"] = self.pythonpath
        done = subprocess.run(
            [sys.executable, *args],
            env=env,
            cwd=index_dir.parent,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[:2]} failed: {done.stderr[-2000:]}")
        return done.stdout

    def build(self, corpus: Path, index_dir: Path) -> dict:
        """One full build in a fresh process; the build report as a dict."""
        shutil.rmtree(index_dir, ignore_errors=True)
        out = self.run(
            ["-m", f"{self.package}.cli", "index", "--full", "--json"], corpus, index_dir
        )
        return json.loads(out[out.index("{") :])

    def time_asks(self, questions: list[str]) -> float:
        """``core.ask()`` p50 in ms over the seed index, in a fresh process of this version."""
        args = ["-c", _ASK_PROBE, self.package, json.dumps(questions, ensure_ascii=False)]
        out = self.run(args, SEED_CORPUS, self.seed_index)
        return float(json.loads(out.strip().splitlines()[-1])["p50"])


def compare(commit: str, n_docs: int, rounds: int, work: Path) -> str:
    work.mkdir(parents=True, exist_ok=True)
    with worktree(commit, work / "baseline_tree") as tree:
        sides = {
            f"commit {commit}" + (" (when issue 14 was filed)" if commit == BASELINE else ""): Side(
                *checkout_package(tree, work / "baseline_shim")
            ),
            "this checkout": Side("wenda.index", None),
        }
        corpus = work / "corpus"
        chars = make_corpus(corpus, n_docs)
        questions = [item.question for item in load_jsonl(SEEDS_DEV)]
        for i, (label, side) in enumerate(sides.items()):
            log(f"warm-up and seed index: {label}")
            side.seed_index = work / f"seed_index_{i}"
            side.build(SEED_CORPUS, side.seed_index)
        for r in range(rounds):
            for label, side in sides.items():
                log(f"round {r + 1}: {label}")
                report = side.build(corpus, work / "index")
                side.seconds.append(report["seconds"])
                side.chunks = report["chunks_total"]
                side.ask_p50.append(side.time_asks(questions))
    rates = {
        label: statistics.median(s.chunks / x for x in s.seconds) for label, s in sides.items()
    }
    asks = {label: statistics.median(s.ask_p50) for label, s in sides.items()}
    (old, new), (old_ask, new_ask) = rates.values(), asks.values()
    rows = [
        (
            label,
            side.chunks,
            " / ".join(f"{x:.1f}" for x in side.seconds),
            f"{rates[label]:.1f}",
            " / ".join(f"{x:.2f}" for x in side.ask_p50),
        )
        for label, side in sides.items()
    ]
    header = ["code", "chunks", "build s per round", "chunks/s (median)", "seeds ask() p50 ms"]
    return "\n".join(
        [
            f"### Full build and ask(), commit {commit} vs this checkout ({n_docs} documents, "
            f"{chars:,} chars, {rounds} alternating rounds, fresh processes)",
            "",
            md_table(header, rows),
            "",
            f"This checkout / commit {commit}: full-build throughput **{new / old:.2f}x**; "
            f"`core.ask()` p50 over the seeds dev questions {new_ask:.2f} vs {old_ask:.2f} ms "
            f"({new_ask / old_ask:.2f}x).",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", default=BASELINE, help="the baseline commit")
    parser.add_argument("--docs", type=int, default=100, help="documents in the corpus")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        text = compare(args.commit, args.docs, args.rounds, Path(tmp))
    write_report(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
