"""Retrieval/answer quality ablation: every retrieval mode the core offers, side by side.

Why: "is hybrid better than BM25 alone?" must be answered on the same index, the same
questions and in the same run. Run on its own, this scores the seeds dev set over the
bundled ``corpus/``; ``bench/cmrc.py`` reuses :func:`ablation` for CMRC 2018.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import typing
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wenda.index.embedding.base import Embedder, load_embedder
from wenda.index.evaluation import EvalItem, EvalResult, evaluate, load_jsonl
from wenda.index.settings import Settings

from bench.common import SEED_CORPUS, SEEDS_DEV, WORK, log, md_table, write_report

METRICS = (
    "hit@1",
    "hit@5",
    "mrr@10",
    "answer_accuracy",
    "unanswerable_rejection",
    "false_rejection",
)


@dataclass
class ModeResult:
    mode: str
    result: EvalResult
    ms_per_question: float


def core_modes() -> list[str]:
    """Every mode ``core.ask`` accepts now, so a new rerank mode shows up without edits."""
    from wenda.index.query.retrieve import Mode

    return list(typing.get_args(Mode))


def bench_embedder(model: str | None) -> Embedder:
    """The embedder a bench script's ``--model`` names (default: the real default model)."""
    overrides = {"model": model} if model else {}
    return load_embedder(Settings(_env_file=None, **overrides))


def bench_settings(corpus_dir: Path, index_dir: Path, **overrides: object) -> Settings:
    """Settings for a throwaway index: ignore any .env so runs are reproducible."""
    return Settings(
        _env_file=None,
        corpus_dir=corpus_dir,
        index_dir=index_dir,
        reload_check_seconds=3600.0,
        **overrides,
    )


def open_core(corpus_dir: Path, index_dir: Path, embedder: Embedder | None = None, **overrides):
    """Build (if needed) and open a ``Wenda`` over ``corpus_dir``; returns (core, seconds)."""
    from wenda.index.core import Wenda

    settings = bench_settings(corpus_dir, index_dir, **overrides)
    t0 = time.perf_counter()
    core = Wenda.open(settings, embedder=embedder)
    return core, time.perf_counter() - t0


def ablation(core, items: list[EvalItem], modes: list[str] | None = None) -> list[ModeResult]:
    """Score ``items`` once per mode with 10 passages per answer (MRR@10 needs them)."""
    out = []
    for mode in modes or core_modes():
        log(f"quality: {len(items)} questions, mode={mode}")
        t0 = time.perf_counter()
        result = evaluate(items, lambda q, m=mode: core.ask(q, top_k=10, mode=m))
        ms = (time.perf_counter() - t0) * 1000 / max(1, len(items))
        out.append(ModeResult(mode, result, ms))
    return out


def answer_model_ablation(core, items: list[EvalItem]) -> list[ModeResult]:
    """The default mode with the old heuristic compose and with the learned answer model,
    on the same index, questions and run (issue 9's "old heuristic" vs "learned" rows)."""
    from bench.old_heuristic import old_heuristic

    out = []
    for label, composer in (("old heuristic", old_heuristic(core)), ("learned", None)):
        log(f"quality: {len(items)} questions, answer model={label}")
        t0 = time.perf_counter()
        result = evaluate(
            items, lambda q, c=composer: core.run_pipeline(q, 10, composer=c).to_answer()
        )
        ms = (time.perf_counter() - t0) * 1000 / max(1, len(items))
        out.append(ModeResult(f"{core.settings.retrieval_mode}, {label}", result, ms))
    return out


def _cell(metrics: dict[str, float], key: str) -> str:
    value = metrics.get(key)
    return "–" if value is None else f"{value:.3f}"


def ablation_table(rows: list[ModeResult], extra: list[tuple[str, dict[str, float]]] = ()) -> str:
    """One row per mode (plus optional reference rows), the metrics the README quotes."""
    body = [
        (
            r.mode,
            r.result.n,
            *(_cell(r.result.metrics, k) for k in METRICS),
            f"{r.ms_per_question:.1f}",
        )
        for r in rows
    ]
    body += [(name, int(m.get("n", 0)), *(_cell(m, k) for k in METRICS), "–") for name, m in extra]
    return md_table(["mode", "n", *METRICS, "ms/question"], body)


def by_type_table(rows: list[ModeResult]) -> str:
    """hit@1 and answer accuracy per question type (number/date/fact/...), per mode."""
    types = sorted({t for r in rows for t in r.result.by_type})
    body = []
    for t in types:
        cells = []
        for r in rows:
            m = r.result.by_type.get(t, {})
            key = "unanswerable_rejection" if t == "unanswerable" else "hit@1"
            cells.append(f"{_cell(m, key)} / {_cell(m, 'answer_accuracy')}")
        n = int(rows[0].result.by_type.get(t, {}).get("n", 0))
        body.append((t, n, *cells))
    return md_table(["type", "n", *(f"{r.mode}: hit@1 / acc" for r in rows)], body)


def run_seeds(embedder: Embedder, work: Path) -> tuple[str, list[ModeResult]]:
    """Seeds dev set over a private copy of the bundled corpus."""
    corpus = work / "seeds_corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.copytree(SEED_CORPUS, corpus)
    core, secs = open_core(corpus, work / "seeds_index", embedder)
    try:
        items = load_jsonl(SEEDS_DEV)
        rows = ablation(core, items) + answer_model_ablation(core, items)
        status = core.status()
    finally:
        core.close()
    text = "\n".join(
        [
            f"### Seeds dev set ({len(items)} questions over the bundled corpus/)",
            "",
            f"Index: {status.documents} documents, {status.chunks} chunks, model {status.model}; "
            f"opened (incl. build) in {secs:.1f} s. Unanswerable questions count only toward "
            "unanswerable_rejection; the other columns are over answerable ones.",
            "",
            ablation_table(rows),
            "",
            "Per type (unanswerable row: rejection rate instead of hit@1):",
            "",
            by_type_table(rows),
        ]
    )
    return text, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="embedder (default: the real default model)")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args(argv)
    embedder = bench_embedder(args.model)
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        text, _ = run_seeds(embedder, Path(tmp))
    write_report(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
