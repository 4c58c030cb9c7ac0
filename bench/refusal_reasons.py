"""Do refusal reasons name what the documents really lack?

Why (issue 9, "explain a refusal"): a reason that names "一个、对于" tells the user
nothing. The cut construction knows what was taken away: for a refused cut question, a
term the reason names is *right* when it occurs in the deleted answer sentences of its
paragraph (and so in none of the kept text). Over every refused cut question of the two
bench sets, this reports the share of refusals whose reason names some term, the share of
named terms that were in the deleted sentences, and the share of reasons naming at least
one such term: for the shipped ``answer.nameable`` selection and for every absent term in
question order (the selection before it), in the same run.

    python bench/refusal_reasons.py [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import WORK, log, md_table, write_report
from bench.train_answer import DATASETS, open_set


def refused_cut_questions(work: Path) -> list[tuple]:
    """(question, evidence union, folded deleted text) for each refused cut question whose
    refusal was explained from evidence (not a keyword or an empty question)."""
    from wenda.index.query.pipeline import match_form
    from wenda.index.squad import load_squad

    out, embedder = [], None
    for name in ("cmrc", "drcd"):
        core, squad = open_set(name, work, embedder)
        embedder = core.embedder
        original = {p.pid: match_form(p.context) for p in load_squad(DATASETS[name])}
        paragraph_of = {q.qid: p for p in squad.paragraphs for q in p.questions}
        for item in squad.items:
            if item.answerable:
                continue
            result = core.run_pipeline(item.question)
            d = result.decision
            if d.answerable or d.evidence is None or not d.evidence.spans:
                continue
            p = paragraph_of[item.id]
            out.append((result.question, d.evidence.union, original[p.pid], match_form(p.context)))
        core.close()
    log(f"refusal_reasons: {len(out)} refused cut questions")
    return out


def figures(rows: Sequence[tuple], select: Callable[[list[str]], list[str]]) -> list[str]:
    from wenda.index.query.answer import MAX_MISSING_SHOWN, absent_terms

    named = right = reasons_right = 0
    naming = 0
    for q, union, original, kept in rows:
        missing = select(absent_terms(q, union))
        shown = missing[:MAX_MISSING_SHOWN]
        if not shown:
            continue
        naming += 1
        deleted = [t for t in shown if t in original and t not in kept]
        named += len(shown)
        right += len(deleted)
        reasons_right += bool(deleted)
    n = len(rows)
    return [
        f"{naming / n:.3f}",
        f"{right / max(named, 1):.3f}",
        f"{reasons_right / max(naming, 1):.3f}",
        f"{named / max(naming, 1):.2f}",
    ]


def run(work: Path) -> str:
    from wenda.index.query.answer import nameable

    rows = refused_cut_questions(work)
    table = [
        ["every absent term, question order (before)", *figures(rows, list)],
        [
            "`answer.nameable`: things first, closed classes dropped (shipped)",
            *figures(rows, nameable),
        ],
    ]
    header = [
        f"terms named ({len(rows)} refused cut questions, CMRC trial + DRCD)",
        "reasons naming a term",
        "named terms in the deleted sentences",
        "reasons naming a deleted term",
        "terms per reason",
    ]
    return "\n".join(
        ["### Refusal reasons against the deleted sentences", "", md_table(header, table)]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=WORK / "answer")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    write_report(args.out, run(args.work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
