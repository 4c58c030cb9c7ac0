"""Full-build throughput of this checkout against the code of an earlier commit, same run.

Why: issue 14 asks for 2x the full-build throughput of the build as it was when the issue
was filed, not of today's builder with the old encoder swapped in. So the old commit is
checked out into a git worktree and both builds run as real CLI subprocesses
(``index --full --json``) over one corpus, alternating rounds; the throughput is read
from each build report's own ``seconds`` (model load excluded on both sides). Each side
first builds the bundled corpus once untimed, so model conversion and caches are warm.

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
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.build import make_corpus
from bench.common import REPO, SEED_CORPUS, WORK, log, md_table, write_report

BASELINE = "dd7577c"
"""The last commit before issue 14's work: fp32 ONNX export, 32-text batches, one session."""


def _old_command() -> list[str]:
    return [sys.executable, "-m", "index.cli", "index", "--full", "--json"]


def _new_command() -> list[str]:
    return [sys.executable, "-m", "wenda.index.cli", "index", "--full", "--json"]


def run_build(command: list[str], corpus: Path, index_dir: Path, pythonpath: str | None) -> dict:
    """One full build in a fresh process; the build report as a dict."""
    shutil.rmtree(index_dir, ignore_errors=True)
    env = {**os.environ, "WENDA_CORPUS_DIR": str(corpus), "WENDA_INDEX_DIR": str(index_dir)}
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    done = subprocess.run(
        command, env=env, cwd=index_dir.parent, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout[done.stdout.index("{") :])


def compare(commit: str, n_docs: int, rounds: int, work: Path) -> str:
    tree = work / "baseline_tree"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), commit],
        check=True,
        capture_output=True,
    )
    try:
        corpus = work / "corpus"
        chars = make_corpus(corpus, n_docs)
        sides = {
            f"commit {commit} (when issue 14 was filed)": (_old_command(), str(tree)),
            "this checkout": (_new_command(), None),
        }
        for label, (command, path) in sides.items():
            log(f"warm-up: {label}")
            run_build(command, SEED_CORPUS, work / "warm_index", path)
        seconds: dict[str, list[float]] = {label: [] for label in sides}
        chunks: dict[str, int] = {}
        for r in range(rounds):
            for label, (command, path) in sides.items():
                log(f"round {r + 1}: {label}")
                report = run_build(command, corpus, work / "index", path)
                seconds[label].append(report["seconds"])
                chunks[label] = report["chunks_total"]
    finally:
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
            check=False,
            capture_output=True,
        )
    rates = {label: statistics.median(chunks[label] / s for s in seconds[label]) for label in sides}
    old, new = rates.values()
    rows = [
        (
            label,
            chunks[label],
            " / ".join(f"{s:.1f}" for s in seconds[label]),
            f"{rates[label]:.1f}",
        )
        for label in sides
    ]
    return "\n".join(
        [
            f"### Full build, commit {commit} vs this checkout ({n_docs} documents, "
            f"{chars:,} chars, {rounds} alternating rounds, CLI subprocesses)",
            "",
            md_table(["code", "chunks", "build seconds per round", "chunks/s (median)"], rows),
            "",
            f"This checkout / commit {commit} full-build throughput: **{new / old:.2f}x**.",
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
