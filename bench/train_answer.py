"""Train and check the answer model (``index/query/answer_model.json``) on held-out data.

Why: the span scorer and the answerability gate are learned, not hand-set, so the data,
its split and the figures must be reproducible from this script:

- data: CMRC 2018 trial (simplified) + DRCD test (traditional), both with the SQuAD
  2.0-style cut construction (``wenda.index.squad.cut_answers``), one index per set;
- split: BY ARTICLE, ``SPLIT_SEED``: an article is in the fit part when the first byte
  of sha256("<seed>:<set>:<article>") is below ``FIT_SHARE`` × 256; everything reported
  is on the held-out articles only;
- steps (each its own command, so the fit is checkable without an encoder):

    python bench/train_answer.py question-words  # the learned question-word list
    python bench/train_answer.py extract   # run the real pipeline; write the feature table
    python bench/train_answer.py fit       # fit on the table; write answer_model.json
    python bench/train_answer.py evaluate  # held-out questions through the real pipeline:
                                           # old heuristic vs learned, same run
    python bench/train_answer.py resplit   # the same fit on other random article splits

Indexes are cached under ``bench/_work/answer/`` (git-ignored); the table is committed
(``bench/data/answer_features.npz``) and a test re-runs ``fit`` on it and compares.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from wenda.index.evaluation import EvalItem, squash

from bench.common import REPO, SHARED_EVAL, WORK, log

if TYPE_CHECKING:
    from wenda.index.query.fit import FeatureTable

SPLIT_SEED = 20261201
FIT_SHARE = 0.7
DATASETS = {"cmrc": SHARED_EVAL / "cmrc2018_trial.json", "drcd": SHARED_EVAL / "drcd_test.json"}
TABLE = REPO / "bench" / "data" / "answer_features.npz"
MODEL = REPO / "index" / "query" / "answer_model.json"
QUESTION_WORDS = REPO / "index" / "query" / "question_words.json"
TOP_K = 5


RESPLIT_SEEDS = 8


def in_fit_split(dataset: str, article: str, seed: int = SPLIT_SEED) -> bool:
    digest = hashlib.sha256(f"{seed}:{dataset}:{article}".encode()).digest()
    return digest[0] < FIT_SHARE * 256


def open_set(name: str, work: Path, embedder=None):
    """(core, SquadSet) for one cut set, building its index under ``work`` once."""
    from wenda.index.squad import cut_answers, load_squad, write_corpus

    from bench.quality import open_core

    squad = cut_answers(load_squad(DATASETS[name]))
    write_corpus(squad.paragraphs, work / name / "corpus")
    core, secs = open_core(work / name / "corpus", work / name / "index", embedder)
    log(f"{name}: {len(squad.items)} questions, {squad.dropped} dropped; index ready {secs:.0f}s")
    return core, squad


def question_words(names: list[str]) -> dict:
    """The question-word list from the fit split's questions and their (uncut) paragraphs."""
    from wenda.index.query.question_words import derive
    from wenda.index.squad import load_squad
    from wenda.index.store.lexical import ChineseTokenizer

    paragraphs = [
        p for name in names for p in load_squad(DATASETS[name]) if in_fit_split(name, p.article)
    ]
    questions = [(p.article, q.question) for p in paragraphs for q in p.questions]
    return derive(questions, [p.context for p in paragraphs], ChineseTokenizer())


def evidence(core, question: str) -> tuple:
    """(question read, evidence, candidates) of one question through the real pipeline up to
    the compose stage: what the answer model sees, the spans the feature table holds."""
    from wenda.index.query.answer import Decision, gather_evidence
    from wenda.index.query.pipeline import match_form

    captured: dict = {}

    def record(q, candidates):
        captured["ev"] = gather_evidence(q, candidates, match_form, use_cosine=True)
        captured["q"], captured["candidates"] = q, candidates
        return Decision(False, 0.0)

    core.run_pipeline(question, TOP_K, composer=record)
    return captured["q"], captured["ev"], captured["candidates"]


def extract(work: Path, out: Path, names: list[str]) -> None:
    from wenda.index.query.fit import FeatureTable

    cols: dict[str, list] = {k: [] for k in FeatureTable.__dataclass_fields__}
    embedder = None
    for name in names:
        core, squad = open_set(name, work, embedder)
        embedder = core.embedder
        for n, item in enumerate(squad.items):
            q, ev, _ = evidence(core, item.question)
            qi = len(cols["q_answerable"])
            for span in ev.spans:
                contains, minimal = _labels(item, span)
                cols["span_x"].append(span.features)
                cols["span_gold"].append(minimal)
                cols["span_contains"].append(contains)
                cols["span_question"].append(qi)
                cols["span_passage"].append(span.passage)
                cols["span_start"].append(span.start)
                cols["span_end"].append(span.end)
                cols["span_chars"].append(len(squash(span.text)))
            cols["q_answerable"].append(item.answerable)
            cols["q_fit"].append(in_fit_split(name, squad.article_of[item.id]))
            cols["q_best_cos"].append(np.nan if ev.best_cos is None else ev.best_cos)
            cols["q_union_cov"].append(ev.union_coverage)
            cols["q_typed"].append(q.answer_type is not None)
            cols["q_type"].append(q.answer_type or "")
            cols["q_terms"].append(len(q.terms))
            cols["q_dataset"].append(name)
            if n % 500 == 0:
                log(f"{name}: {n}/{len(squad.items)}")
        core.close()
    from wenda.index.query.features import SPAN_FEATURES

    table = FeatureTable(
        span_x=np.array(cols["span_x"], dtype=np.float64).reshape(-1, len(SPAN_FEATURES)),
        **{k: np.array(v, dtype=_DTYPES[k]) for k, v in cols.items() if k != "span_x"},
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    table.save(str(out))
    log(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(table.q_answerable)} questions)")


_DTYPES = {
    "span_gold": bool,
    "span_contains": bool,
    "span_question": np.int32,
    "span_passage": np.int8,
    "span_start": np.int32,
    "span_end": np.int32,
    "span_chars": np.int32,
    "q_answerable": bool,
    "q_fit": bool,
    "q_best_cos": np.float64,
    "q_union_cov": np.float64,
    "q_typed": bool,
    "q_terms": np.int32,
    "q_dataset": "U8",
    "q_type": "U8",
}


def _labels(item: EvalItem, span) -> tuple[bool, bool]:
    """(contains a gold answer, is a minimal such span: a pair only if no half does)."""
    golds = [squash(g) for g in item.answers]
    text = squash(span.text)
    contains = any(g in text for g in golds)
    if not contains or span.mid < 0:
        return contains, contains
    cut = span.mid - span.start
    halves = (squash(span.text[:cut]), squash(span.text[cut:]))
    return True, not any(g in h for g in golds for h in halves)


def fit(table_path: Path, out: Path) -> dict:
    from wenda.index.query.fit import (
        VARIANTS,
        FeatureTable,
        fit_answer_model,
        held_out_figures,
        rule_figures,
    )

    table = FeatureTable.load(str(table_path))
    shipped: dict = {}
    models = {}
    for variant in VARIANTS:
        models[variant] = model = fit_answer_model(table, variant)
        shipped[variant] = model.to_dict()
        shipped[variant]["held_out"] = held_out_figures(table, model, variant)
    shipped["rules"] = rule_figures(table, models["late"])
    shipped["data"] = {
        "sets": {k: str(v.name) for k, v in DATASETS.items()},
        "construction": "SQuAD 2.0-style cut (wenda.index.squad.cut_answers)",
        "split": f"by article, sha256('{SPLIT_SEED}:<set>:<article>')[0] < {FIT_SHARE}*256",
        "questions": len(table.q_answerable),
        "fit_questions": int(table.q_fit.sum()),
        "held_out_questions": int((~table.q_fit).sum()),
    }
    out.write_text(json.dumps(shipped, ensure_ascii=False, indent=1) + "\n", "utf-8")
    return shipped


def evaluate(work: Path, names: list[str]) -> str:
    """Held-out questions of each set through the real pipeline: old heuristic vs learned."""
    from wenda.index.evaluation import evaluate as score

    from bench.common import md_table
    from bench.old_heuristic import old_heuristic

    rows = []
    embedder = None
    for name in names:
        core, squad = open_set(name, work, embedder)
        embedder = core.embedder
        items = [i for i in squad.items if not in_fit_split(name, squad.article_of[i.id])]
        for label, composer in (("old heuristic", old_heuristic(core)), ("learned", None)):
            log(f"evaluate {name}: {label}, {len(items)} held-out questions")

            def ask(q: str, c=composer, core=core):
                return core.run_pipeline(q, TOP_K, composer=c).to_answer()

            m = score(items, ask).metrics
            rows.append(
                (
                    name,
                    label,
                    int(m["n"]),
                    f"{m.get('unanswerable_rejection', float('nan')):.3f}",
                    f"{m['false_rejection']:.3f}",
                    f"{m['answer_accuracy']:.3f}",
                    f"{m['hit@1']:.3f}",
                )
            )
        core.close()
    return md_table(
        [
            "set (held-out articles)",
            "answer model",
            "questions",
            "unanswerable refused",
            "answerable refused",
            "answer accuracy",
            "hit@1",
        ],
        rows,
    )


def table_articles(names: list[str]) -> list[tuple[str, str]]:
    """(set, article) of every question row of the table, in the order ``extract`` writes."""
    from wenda.index.squad import cut_answers, load_squad

    rows = []
    for name in names:
        squad = cut_answers(load_squad(DATASETS[name]))
        rows += [(name, squad.article_of[item.id]) for item in squad.items]
    return rows


HELD_OUT_KEYS = ("all_unanswerable_refused", "all_answerable_refused", "all_answer_accuracy")
"""The issue's three held-out figures, in ``held_out_figures``' names."""


def article_splits(
    table: FeatureTable, names: list[str], seeds: int
) -> Iterator[tuple[int, FeatureTable]]:
    """``table`` with the official split, then with ``seeds`` random article splits (seeds
    1..n, the same share): (seed, the table with that split's ``q_fit``)."""
    import dataclasses

    articles = table_articles(names)
    if len(articles) != len(table.q_fit):
        raise ValueError(f"{len(articles)} questions in the sets, {len(table.q_fit)} in the table")
    for seed in (SPLIT_SEED, *range(1, seeds + 1)):
        fit_part = np.array([in_fit_split(name, article, seed) for name, article in articles])
        yield seed, dataclasses.replace(table, q_fit=fit_part)


def resplit(
    table_path: Path, names: list[str], seeds: int, variant: str = "late"
) -> tuple[str, list[dict]]:
    """The shipped design fitted and scored on the official split and on ``seeds`` other
    random article splits (``article_splits``).

    Why: one split's held-out figures are one draw, ±1-4 points, and the shipped features
    were chosen with the official split's figures in view; the spread over other splits
    says how much of a figure, or of a difference between two designs, to trust."""
    from wenda.index.query.fit import FeatureTable, fit_answer_model, held_out_figures

    from bench.common import md_table

    rows, figures = [], []
    for seed, split in article_splits(FeatureTable.load(str(table_path)), names, seeds):
        got = held_out_figures(split, fit_answer_model(split, variant), variant)
        figures.append(got)
        label = f"{seed} (official)" if seed == SPLIT_SEED else str(seed)
        rows.append((label, int((~split.q_fit).sum()), *(f"{got[k]:.4f}" for k in HELD_OUT_KEYS)))
    others = np.array([[f[k] for k in HELD_OUT_KEYS] for f in figures[1:]])
    if len(others):
        rows.append(
            (
                f"mean ± sd of seeds 1-{seeds}",
                "",
                *(f"{m:.4f} ± {d:.4f}" for m, d in zip(others.mean(0), others.std(0), strict=True)),
            )
        )
    header = ["split seed", "held-out questions", "unanswerable refused", "answerable refused"]
    return md_table([*header, "answer accuracy"], rows), figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = ("question-words", "extract", "fit", "evaluate", "resplit")
    parser.add_argument("step", choices=steps)
    parser.add_argument("--work", type=Path, default=WORK / "answer")
    parser.add_argument("--table", type=Path, default=TABLE)
    parser.add_argument("--model-out", type=Path, default=MODEL)
    parser.add_argument("--sets", default="cmrc,drcd")
    parser.add_argument("--seeds", type=int, default=RESPLIT_SEEDS, help="resplit: other splits")
    args = parser.parse_args(argv)
    names = [n for n in args.sets.split(",") if n]
    if args.step == "question-words":
        words = question_words(names)
        QUESTION_WORDS.write_text(json.dumps(words, ensure_ascii=False, indent=1) + "\n", "utf-8")
        print(f"{len(words['words'])} question words -> {QUESTION_WORDS}")
    elif args.step == "extract":
        extract(args.work, args.table, names)
    elif args.step == "fit":
        shipped = fit(args.table, args.model_out)
        print(json.dumps({k: v.get("held_out", v) for k, v in shipped.items() if k != "data"}))
    elif args.step == "resplit":
        print(resplit(args.table, names, args.seeds)[0])
    else:
        print(evaluate(args.work, names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
