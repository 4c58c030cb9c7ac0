"""Helpers shared by the benchmark scripts: timing stats, RSS, machine facts, tables.

Kept free of project imports so ``bench/scale.py`` runs even while the core is in flux.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / "_work"  # git-ignored scratch space
SHARED_EVAL = REPO.parent / "shared" / "eval"
CMRC_FILE = SHARED_EVAL / "cmrc2018_trial.json"
SEEDS_DEV = SHARED_EVAL / "seeds_dev.jsonl"
SEED_CORPUS = REPO / "corpus"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); p99 of 200 samples is the 2nd largest."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def time_calls(fn: Callable[[], object], repeat: int, warmup: int = 2) -> list[float]:
    """Wall times in milliseconds of ``repeat`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def proc_status_kib(field: str, pid: int | str = "self") -> int:
    """A ``/proc/<pid>/status`` memory field (VmRSS, VmHWM, ...) in KiB; 0 if unreadable."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+)\s+kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def rss_mib(pid: int | str = "self") -> float:
    return proc_status_kib("VmRSS", pid) / 1024


def hwm_mib(pid: int | str = "self") -> float:
    return proc_status_kib("VmHWM", pid) / 1024


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine_info() -> dict[str, str]:
    """The facts a reader needs to compare figures across machines."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{proc_meminfo_gib():.1f} GiB",
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for mod in ("torch", "faiss", "numpy", "sentence_transformers", "bm25s"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # a missing optional module is a fact worth printing, not a crash
            info[mod] = "n/a"
    try:
        info["git"] = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        info["git"] = "n/a"
    info["load_avg"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return info


def proc_meminfo_gib() -> float:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^MemTotal:\s+(\d+)", text, re.MULTILINE)
    return int(match.group(1)) / 1024 / 1024 if match else 0.0


def md_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table; floats get 3 significant decimals unless preformatted."""

    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 100 else f"{v:,.0f}"
        return str(v).replace("|", "\\|")  # model names contain '|'; it would split the cell

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def log(msg: str) -> None:
    """Progress to stderr so stdout stays the markdown report."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def probe_parser(doc: str | None) -> argparse.ArgumentParser:
    """The options every feature-table probe takes: where the cached indexes are, a report
    file, and how many random article splits to score besides the official one."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0] if doc else None)
    parser.add_argument("--work", type=Path, default=WORK / "answer")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--seeds", type=int, default=8, help="random article splits besides ours")
    return parser


def write_report(path: Path | None, text: str) -> None:
    print(text)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", "utf-8")


def link_tree(tree: Path, shim: Path) -> str:
    """A ``wenda`` package whose parts are the worktree's folders; returns the path entry
    (on ``PYTHONPATH`` it wins over this checkout's editable install)."""
    for part in ("index", "api", "bot"):
        target = shim / "wenda" / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():  # left by an earlier run
            target.unlink()
        target.symlink_to(tree / part)
    return str(shim)


def checkout_package(tree: Path, shim: Path) -> tuple[str, str]:
    """(the core package to run ``-m <package>.cli`` from, the ``PYTHONPATH`` entry) for a
    checkout of this repository at any commit: before the ``wenda.*`` layout the folders
    were top-level packages (``index.cli``) and the tree itself goes on the path; after it,
    the tree's folders are linked into a ``wenda`` package (``link_tree``)."""
    if "\nfrom wenda.index" not in (tree / "index" / "cli.py").read_text("utf-8"):
        return "index", str(tree)
    return "wenda.index", link_tree(tree, shim)


@contextmanager
def worktree(commit: str, tree: Path) -> Iterator[Path]:
    """``commit`` checked out (detached) at ``tree`` for the block, removed afterwards."""
    git = ["git", "-C", str(REPO), "worktree"]
    subprocess.run([*git, "add", "--detach", str(tree), commit], check=True, capture_output=True)
    try:
        yield tree
    finally:
        subprocess.run([*git, "remove", "--force", str(tree)], check=False, capture_output=True)
