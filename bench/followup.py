"""Follow-up questions: retrieval and answers with and without the rewrite.

Why: "那重庆呢？" alone retrieves nothing useful; the rewrite in
``wenda.index.query.followup`` should fix that without touching questions that stand on
their own. ``bench/followup_pairs.jsonl`` holds 33 hand-written follow-ups (each with the
earlier turns of its conversation) and 16 stand-alone controls, all over the bundled
``corpus/``; they were written from the documents before the rules were, and are scored
as they are (no rule was tuned on one item).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wenda.index.embedding.base import Embedder
from wenda.index.evaluation import EvalItem, evaluate
from wenda.index.query.followup import resolve_followup

from bench.common import REPO, SEED_CORPUS, WORK, md_table, write_report
from bench.quality import bench_embedder, open_core

PAIRS_FILE = REPO / "bench" / "followup_pairs.jsonl"
METRICS = ("hit@1", "hit@5", "answer_accuracy")


@dataclass(frozen=True)
class Turn:
    id: str
    kind: str  # substitute, pronoun, aspect, or standalone (a control)
    history: tuple[str, ...]
    question: str
    answers: tuple[str, ...]


def load_pairs(path: Path = PAIRS_FILE) -> list[Turn]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [
        Turn(r["id"], r["kind"], tuple(r["history"]), r["question"], tuple(r["answers"]))
        for r in rows
    ]


def score(core: Any, turns: list[Turn], rewrite: bool) -> dict[str, Any]:
    """hit@1/hit@5/answer accuracy of the turns' questions, rewritten or as typed.

    ``by_kind`` holds the same metrics per follow-up kind (substitute, pronoun, aspect).
    """
    items = [
        EvalItem(
            t.id,
            resolve_followup(t.history, t.question, core.tokenizer) if rewrite else t.question,
            t.answers,
            t.kind,
        )
        for t in turns
    ]
    result = evaluate(items, lambda q: core.ask(q, top_k=10))
    return {**result.metrics, "by_kind": result.by_type}


def run(core: Any, turns: list[Turn]) -> dict[str, Any]:
    followups = [t for t in turns if t.kind != "standalone"]
    controls = [t for t in turns if t.kind == "standalone"]
    unchanged = sum(
        resolve_followup(t.history, t.question, core.tokenizer) == t.question for t in controls
    )
    rewritten = sum(
        resolve_followup(t.history, t.question, core.tokenizer) != t.question for t in followups
    )
    return {
        "followups": len(followups),
        "followups_rewritten": rewritten,
        "controls": len(controls),
        "controls_unchanged": unchanged,
        "followup_without": score(core, followups, rewrite=False),
        "followup_with": score(core, followups, rewrite=True),
        "control_without": score(core, controls, rewrite=False),
        "control_with": score(core, controls, rewrite=True),
    }


def report(figures: dict[str, Any], model: str) -> str:
    def row(name: str, key: str, n: int) -> tuple[object, ...]:
        return (name, n, *(f"{figures[key][m]:.3f}" for m in METRICS))

    table = md_table(
        ["questions", "n", *METRICS],
        [
            row("follow-ups as typed", "followup_without", figures["followups"]),
            row("follow-ups rewritten", "followup_with", figures["followups"]),
            row("stand-alone controls as typed", "control_without", figures["controls"]),
            row("stand-alone controls through the rewriter", "control_with", figures["controls"]),
        ],
    )
    kinds = sorted(figures["followup_with"]["by_kind"])
    per_kind = md_table(
        ["kind", "n", "hit@1 as typed → rewritten", "answer accuracy as typed → rewritten"],
        [
            (
                kind,
                int(figures["followup_with"]["by_kind"][kind]["n"]),
                *(
                    f"{figures['followup_without']['by_kind'][kind][m]:.3f} → "
                    f"{figures['followup_with']['by_kind'][kind][m]:.3f}"
                    for m in ("hit@1", "answer_accuracy")
                ),
            )
            for kind in kinds
        ],
    )
    return "\n".join(
        [
            f"### Follow-up questions ({PAIRS_FILE.name}, model {model})",
            "",
            f"Rewritten: {figures['followups_rewritten']} / {figures['followups']} follow-ups; "
            f"controls left unchanged: {figures['controls_unchanged']} / {figures['controls']}.",
            "",
            table,
            "",
            "Per kind of follow-up:",
            "",
            per_kind,
        ]
    )


def run_followup(embedder: Embedder, work: Path) -> tuple[str, dict[str, Any]]:
    """The measurement over a private copy of the seed corpus: (markdown, figures)."""
    corpus = work / "followup_corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.copytree(SEED_CORPUS, corpus)
    core, _ = open_core(corpus, work / "followup_index", embedder)
    try:
        figures = run(core, load_pairs())
    finally:
        core.close()
    return report(figures, embedder.name), figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="embedder (default: the real default model)")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    embedder = bench_embedder(args.model)
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        text, figures = run_followup(embedder, Path(tmp))
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=1))
    write_report(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
