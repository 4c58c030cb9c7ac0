"""Build throughput and incremental reindex cost, with a per-stage time breakdown.

Why: users re-index after editing one file; that should cost a small fraction of a full
build. The corpus is synthetic but real text: N documents, each 2-4 CMRC paragraphs, so
chunking, tokenizing and embedding see realistic Chinese prose. Stage times come from the
builder's own progress callback, so they are the builder's stages, not a re-implementation.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wenda.index.embedding.base import Embedder
from wenda.index.settings import Settings

from bench.cmrc import Paragraph, load_cmrc
from bench.common import WORK, log, md_table, write_report
from bench.quality import bench_embedder, bench_settings

STAGES = ("scan", "load", "embed", "write", "publish")
EMBED_BATCH = Settings.model_fields["embed_batch_size"].default


@dataclass
class BuildRun:
    label: str
    seconds: float
    chunks_total: int
    chunks_embedded: int
    stages: dict[str, float] = field(default_factory=dict)


class StageTimer:
    """A builder progress callback that records when each stage first reports."""

    def __init__(self) -> None:
        self.starts: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.starts.setdefault(stage, time.perf_counter())

    def durations(self, started: float, ended: float) -> dict[str, float]:
        marks = sorted(self.starts.items(), key=lambda kv: kv[1])
        out = {"setup": (marks[0][1] - started) if marks else ended - started}
        for i, (stage, t) in enumerate(marks):
            nxt = marks[i + 1][1] if i + 1 < len(marks) else ended
            out[stage] = nxt - t
        return out


def make_corpus(
    corpus_dir: Path, n_docs: int, seed: int = 0, paragraphs: list[Paragraph] | None = None
) -> int:
    """N .txt documents of 2-4 paragraphs each (CMRC unless given); returns total characters."""
    paragraphs = paragraphs or load_cmrc()
    rng = random.Random(seed)
    shutil.rmtree(corpus_dir, ignore_errors=True)
    corpus_dir.mkdir(parents=True)
    chars = 0
    for i in range(n_docs):
        parts = rng.sample(paragraphs, rng.randint(2, 4))
        title = f"{parts[0].title}（合集 {i:04d}）"
        body = "\n\n".join(f"{p.title}\n{p.context}" for p in parts)
        text = f"{title}\n\n{body}\n"
        chars += len(text)
        (corpus_dir / f"doc_{i:04d}.txt").write_text(text, "utf-8")
    return chars


def timed_build(settings: Settings, embedder: Embedder, label: str, full: bool) -> BuildRun:
    from wenda.index.builder import build_index
    from wenda.index.store.lexical import ChineseTokenizer

    timer = StageTimer()
    t0 = time.perf_counter()
    report = build_index(settings, embedder, ChineseTokenizer(), timer, force_full=full)
    t1 = time.perf_counter()
    return BuildRun(
        label, t1 - t0, report.chunks_total, report.chunks_embedded, timer.durations(t0, t1)
    )


@dataclass
class Padding:
    real: int  # tokens (or chars) of the passages themselves
    corpus_order: int  # processed incl. padding, batches cut in corpus order
    char_sorted: int  # batches of chunks sorted by character length (what the builder does)
    token_sorted: int  # batches sorted by the encoder's own token count (the floor)
    unit: str


def padding_estimate(index_dir: Path, embedder: Embedder, batch: int) -> Padding | None:
    """Encoder work (padded tokens) of fixed-size batches cut in corpus order vs after a
    sort by character length (the builder's order since it sorts), from the chunks just
    indexed: what padding costs, without re-embedding anything."""
    from wenda.index.builder import _passage_text
    from wenda.index.models import Chunk
    from wenda.index.store.versions import VersionStore

    store = VersionStore(index_dir)
    version = store.current()
    if version is None:
        return None
    with sqlite3.connect(store.path(version) / "chunks.sqlite") as db:
        rows = db.execute(
            "SELECT doc_id, title, section, start, end, text FROM chunks ORDER BY doc_id, start"
        ).fetchall()
    texts = [_passage_text(Chunk(*row)) for row in rows]
    tokenizer = getattr(getattr(embedder, "_encoder", None), "tokenizer", None)
    prompt = getattr(embedder, "passage_prompt", "")
    if tokenizer is not None and hasattr(tokenizer, "encode_batch"):
        lengths, unit = (
            [len(e.ids) for e in tokenizer.encode_batch([prompt + t for t in texts])],
            "tokens",
        )
    else:
        lengths, unit = [len(t) for t in texts], "chars"

    def padded(ls: list[int]) -> int:
        return sum(
            max(ls[i : i + batch]) * len(ls[i : i + batch]) for i in range(0, len(ls), batch)
        )

    by_chars = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return Padding(
        sum(lengths),
        padded(lengths),
        padded([lengths[i] for i in by_chars]),
        padded(sorted(lengths)),
        unit,
    )


def run_build(
    embedder: Embedder, work: Path, n_docs: int, edits: int = 3
) -> tuple[str, list[BuildRun], Path, Path]:
    """Full build, then ``edits`` single-document edits each followed by a reindex.

    Returns the markdown, the runs, and the corpus/index dirs (reused by the latency bench).
    """
    corpus, index_dir = work / "build_corpus", work / "build_index"
    shutil.rmtree(index_dir, ignore_errors=True)
    chars = make_corpus(corpus, n_docs)
    settings = bench_settings(corpus, index_dir)
    log(f"build: full build of {n_docs} documents ({chars:,} chars)")
    runs = [timed_build(settings, embedder, "full build", full=True)]
    for e in range(edits):
        target = corpus / f"doc_{(e * 337) % n_docs:04d}.txt"
        with target.open("a", encoding="utf-8") as fh:
            fh.write(f"\n补充说明第{e + 1}条：本段文字用于测试增量索引。\n")
        log(f"build: incremental reindex after editing {target.name}")
        runs.append(timed_build(settings, embedder, f"1 doc changed (#{e + 1})", full=False))
    pad = padding_estimate(index_dir, embedder, settings.embed_batch_size)
    return report(runs, n_docs, chars, pad), runs, corpus, index_dir


def report(runs: list[BuildRun], n_docs: int, chars: int, pad: Padding | None = None) -> str:
    full, incs = runs[0], runs[1:]
    stage_names = ["setup", *STAGES]
    rows = [
        (
            r.label,
            f"{r.seconds:.1f}",
            r.chunks_total,
            r.chunks_embedded,
            *(f"{r.stages.get(s, 0.0):.2f}" for s in stage_names),
        )
        for r in runs
    ]
    embed_share = full.stages.get("embed", 0.0) / full.seconds if full.seconds else 0.0
    lines = [
        f"### Index build ({n_docs} documents of 2-4 CMRC paragraphs, {chars:,} chars)",
        "",
        md_table(["run", "seconds", "chunks", "embedded", *(f"{s} s" for s in stage_names)], rows),
        "",
        f"Full build: {full.chunks_total / full.seconds:.1f} chunks/s overall, "
        f"{full.chunks_embedded / max(full.stages.get('embed', 1e-9), 1e-9):.1f} chunks/s in "
        f"the embed stage; embedding is {embed_share:.0%} of the full build.",
    ]
    if incs:
        med = statistics.median(r.seconds for r in incs)
        lines.append(
            f"Incremental reindex after changing 1 of {n_docs} documents: median {med:.2f} s "
            f"over {len(incs)} edits = {med / full.seconds:.1%} of the full build "
            f"({full.seconds / med:.0f}x faster)."
        )
    if pad is not None:
        lines.append(
            f"Padding, batches of {EMBED_BATCH}: cut in corpus order the encoder would process "
            f"{pad.corpus_order:,} {pad.unit} for {pad.real:,} real ones "
            f"(+{pad.corpus_order / pad.real - 1:.0%}); sorted by length, as the builder does, "
            f"{pad.char_sorted:,} (+{pad.char_sorted / pad.real - 1:.0%}), i.e. "
            f"{1 - pad.char_sorted / pad.corpus_order:.0%} less encoder work; sorted by the "
            f"encoder's token count instead, {pad.token_sorted:,} "
            f"(+{pad.token_sorted / pad.real - 1:.0%}, another "
            f"{1 - pad.token_sorted / pad.char_sorted:.0%} less than the builder's order)."
        )
    return "\n".join(lines)


def compare_full_builds(work: Path, n_docs: int, rounds: int = 2) -> str:
    """Full builds of one corpus with the previous default encoder (fp32 ONNX) and the
    current one, alternated ``rounds`` times in one run: the throughput ratio (issue 14)."""
    from wenda.index.embedding.base import load_embedder

    from bench.embed_speed import previous_default_embedder

    corpus = work / "compare_corpus"
    chars = make_corpus(corpus, n_docs)
    base = Settings(_env_file=None)
    embedders = {
        "previous default (fp32 ONNX)": previous_default_embedder(base),
        "current default (4-bit/int8 ONNX)": load_embedder(base),
    }
    runs: dict[str, list[BuildRun]] = {label: [] for label in embedders}
    for r in range(rounds):
        for label, embedder in embedders.items():
            index_dir = work / f"compare_index_{len(runs[label])}_{hash(label) & 0xFFFF}"
            shutil.rmtree(index_dir, ignore_errors=True)
            log(f"build compare: round {r + 1}, {label}")
            runs[label].append(
                timed_build(bench_settings(corpus, index_dir), embedder, label, full=True)
            )
    rates = {
        label: statistics.median(x.chunks_total / x.seconds for x in rs)
        for label, rs in runs.items()
    }
    old, new = rates.values()
    rows = [
        (
            label,
            runs[label][0].chunks_total,
            " / ".join(f"{x.seconds:.1f}" for x in runs[label]),
            f"{rates[label]:.1f}",
        )
        for label in runs
    ]
    return "\n".join(
        [
            f"### Full build, previous vs current encoder ({n_docs} documents, {chars:,} chars, "
            f"{rounds} alternating rounds)",
            "",
            md_table(["encoder", "chunks", "seconds per round", "chunks/s (median)"], rows),
            "",
            f"Current / previous full-build throughput: **{new / old:.2f}x**.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=200, help="documents in the corpus (N)")
    parser.add_argument("--edits", type=int, default=3, help="incremental reindexes to time")
    parser.add_argument("--model", default=None, help="embedder (default: the real default model)")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    parser.add_argument(
        "--compare-previous",
        type=int,
        metavar="ROUNDS",
        default=0,
        help="instead: full builds with the previous and current default encoders",
    )
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    if args.compare_previous:
        with tempfile.TemporaryDirectory(dir=WORK) as tmp:
            text = compare_full_builds(Path(tmp), args.docs, args.compare_previous)
        write_report(args.out, text)
        return 0
    embedder = bench_embedder(args.model)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        text, *_ = run_build(embedder, Path(tmp), args.docs, args.edits)
    write_report(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
