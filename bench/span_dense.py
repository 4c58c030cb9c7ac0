"""Would dense similarity per candidate span, or a tree model, pick and gate answers better?

Why (issue 9): the passage cosine is one number per passage, so within the right passage
the span scorer had no dense signal at all, and the gate could not tell "on topic" from
"answers". The late-chunked span cosine (the span's token states pooled out of its
passage's encoder pass) measured here in the fifth session now ships: the builder stores
sentence states and the table holds ``late``/``late_gap``/``late_best``. This probe
re-derives that cosine from one unpadded encoder pass per passage (a check of the stored
one) and compares, over the committed feature table (``bench/data/answer_features.npz``,
same questions, same spans, re-derived through the real pipeline, checked span by span):

- the shipped ``late`` variant, and the ``dense`` variant without sentence states;
- ``sent``: the span encoded on its own (an encoder pass per sentence or pair: about
  doubling a build, or ~3 question encodes per ``ask()``), as the cosine to the question,
  its gap to the question's best span and that best;
- ``clause``: the best late-chunked cosine of one clause of the span (a state per clause
  would be ~2-3x the storage), the same three ways.

It refits the shipped model's code (``wenda.index.query.fit``) and reports the held-out
figures, and a gradient-boosted span scorer (scikit-learn, bench only).

    python bench/span_dense.py [--seeds 8] [--out FILE]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import wenda.index.query.features as features_mod
import wenda.index.query.fit as fit_mod
import wenda.index.query.model as model_mod
from wenda.index.query.fit import FeatureTable, span_targets

from bench.common import log, md_table, probe_parser, write_report
from bench.sentence_evidence import PREFIX, late_vector, token_states
from bench.train_answer import TABLE, evidence, open_set


def span_cosines(table: FeatureTable, work: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(late, sent, clause) cosine per table row; NaN where the spans do not line up.
    ``clause``: the best late-chunked cosine of one clause of the span (split after
    ，、；： and sentence ends): long sentences dilute a sentence state."""
    from wenda.index.builder import _passage_text

    late = np.full(len(table.span_question), np.nan)
    sent = np.full(len(table.span_question), np.nan)
    clause = np.full(len(table.span_question), np.nan)
    groups = table.groups()
    qi, embedder = 0, None
    for name in ("cmrc", "drcd"):
        core, squad = open_set(name, work, embedder)
        embedder = core.embedder
        encoder = embedder._encoder  # type: ignore[attr-defined]  # the OnnxEncoder
        states: dict[int, tuple] = {}
        texts: dict[str, None] = {}
        pending = []
        for item in squad.items:
            _, ev, top = evidence(core, item.question)
            spans, rows = ev.spans, groups[qi]
            if spans_line_up(table, rows, spans):
                qv = embedder.encode_queries([item.question])[0]
                for r, s in zip(rows, spans, strict=True):
                    late[r] = _late_cosine(encoder, states, top[s.passage], s, qv, _passage_text)
                    clause[r] = _clause_cosine(states[top[s.passage].chunk_id], s, qv)
                    texts.setdefault(s.text, None)
                pending.append((rows, [s.text for s in spans], qv))
            qi += 1
            if qi % 1000 == 0:
                log(f"span_dense: {qi} questions")
        log(f"span_dense: {name}: encoding {len(texts)} span texts on their own")
        vectors = dict(zip(texts, embedder.encode_passages(list(texts)), strict=True))
        for rows, span_texts, qv in pending:
            sent[rows] = [float(vectors[t] @ qv) for t in span_texts]
        core.close()
    return late, sent, clause


def spans_line_up(table: FeatureTable, rows: np.ndarray, spans: list) -> bool:
    """The pipeline's spans for a question are the table's rows for it, one by one (the
    same passage and offsets), so a value computed per span belongs to that row."""
    return len(rows) == len(spans) and all(
        (table.span_start[r], table.span_end[r], table.span_passage[r])
        == (s.start, s.end, s.passage)
        for r, s in zip(rows, spans, strict=True)
    )


_CLAUSE = re.compile(r"[^，,、；;：:。！？!?…\n]+[，,、；;：:。！？!?…]*")


def _clause_cosine(passage_states: tuple, span, qv) -> float:
    """The best clause's late-chunked cosine (``_late_cosine`` has cached the states)."""
    from wenda.index.embedding.sentence_states import pool

    hidden, offsets, base = passage_states
    at = base + span.start
    bounds = [(at + m.start(), at + m.end()) for m in _CLAUSE.finditer(span.text)]
    if base < 0 or not bounds:
        return float("nan")
    sums = pool(hidden, offsets, bounds)
    norms = np.linalg.norm(sums, axis=1)
    ok = norms > 0
    return float(((sums[ok] @ qv) / norms[ok]).max()) if ok.any() else float("nan")


def _late_cosine(encoder, states, candidate, span, qv, passage_text) -> float:
    if candidate.chunk_id not in states:
        text = passage_text(candidate.chunk)
        hidden, offsets = token_states(encoder, PREFIX + text)
        at = text.find(candidate.chunk.text)
        states[candidate.chunk_id] = (hidden, offsets, len(PREFIX) + at if at >= 0 else -1)
    hidden, offsets, base = states[candidate.chunk_id]
    if base < 0:
        return float("nan")
    v = late_vector(hidden, offsets, base + span.start, base + span.end)
    return float("nan") if v is None else float(v @ qv / np.linalg.norm(v))


def _with_best(col: np.ndarray, question: np.ndarray) -> list[np.ndarray]:
    """The cosine, its gap to the question's best span, and that best."""
    col = np.where(np.isnan(col), np.nanmin(col), col)
    best = np.full(question.max() + 1, -np.inf)
    np.maximum.at(best, question, col)
    return [col, col - best[question], best[question]]


def refit(
    table: FeatureTable, extra: dict[str, np.ndarray], variant: str = "late"
) -> dict[str, float]:
    """Held-out figures of the shipped fitting code (model ``variant``) with ``extra`` span
    columns (the gate gets them too). The feature-name tuples are swapped for the run and
    put back."""
    saved = (features_mod.SPAN_FEATURES, model_mod.GATE_FEATURES)
    names = tuple(extra)
    try:
        span_names = saved[0] + names
        model_mod.SPAN_FEATURES = fit_mod.SPAN_FEATURES = span_names  # type: ignore[misc]
        model_mod.GATE_FEATURES = fit_mod.GATE_FEATURES = saved[1] + names  # type: ignore[misc]
        fields = dict(table.__dict__)
        fields["span_x"] = np.hstack([table.span_x, *(c[:, None] for c in extra.values())])
        t = FeatureTable(**fields)
        model = fit_mod.fit_answer_model(t, variant)
        figures = fit_mod.held_out_figures(t, model, variant)
        rows, chosen = fit_mod.gate_rows(t, fit_mod.variant_columns(t.span_x, variant), model.span)
    finally:
        model_mod.SPAN_FEATURES = fit_mod.SPAN_FEATURES = saved[0]  # type: ignore[misc]
        model_mod.GATE_FEATURES = fit_mod.GATE_FEATURES = saved[1]  # type: ignore[misc]
    support = 1.0 / (1.0 + np.exp(-model.gate.score(rows)))
    held = ~t.q_fit
    figures["gate_auc"] = _auc(support[held & t.q_answerable], support[held & ~t.q_answerable])
    figures["chosen_holds"] = _chosen_holds(t, chosen)
    return figures


def gbt_chosen_holds(table: FeatureTable) -> float:
    """Span choice of a gradient-boosted classifier over the features and their gap to
    the question's best (scikit-learn; depth 4, 300 trees, fit split only)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    groups = table.groups()
    best = np.zeros_like(table.span_x)
    for g in groups:
        if len(g):
            best[g] = table.span_x[g].max(axis=0)
    x = np.hstack([table.span_x, table.span_x - best])
    fit_rows = table.q_fit[table.span_question]
    model = HistGradientBoostingClassifier(
        max_depth=4, max_iter=300, learning_rate=0.05, random_state=0
    )
    model.fit(x[fit_rows], span_targets(table)[fit_rows])
    scores = model.decision_function(x)
    chosen = np.array([g[np.argmax(scores[g])] if len(g) else -1 for g in groups])
    return _chosen_holds(table, chosen)


def _chosen_holds(table: FeatureTable, chosen: np.ndarray) -> float:
    part = ~table.q_fit & table.q_answerable & (chosen >= 0)
    return float(span_targets(table)[chosen[part]].mean())


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    ranks = np.concatenate([pos, neg]).argsort().argsort() + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def resplit_rows(
    table: FeatureTable, variants: dict[str, tuple[str, dict]], seeds: int
) -> list[list[str]]:
    """Each (model variant, extra columns) on the official split and on ``seeds`` random
    article splits (as ``bench/train_answer.py resplit``): held-out figures, their mean
    over the random splits, and the mean (min..max) change against the first entry split
    by split."""
    from bench.train_answer import HELD_OUT_KEYS, article_splits

    got: dict[str, list[list[float]]] = {label: [] for label in variants}
    for seed, split in article_splits(table, ["cmrc", "drcd"], seeds):
        for label, (variant, extra) in variants.items():
            log(f"span_dense: split {seed}, {label}")
            f = refit(split, extra, variant)
            got[label].append([f[k] for k in HELD_OUT_KEYS])
    base = np.array(next(iter(got.values())))[1:]
    rows = []
    for label, figures in got.items():
        a = np.array(figures)
        change = a[1:] - base
        rows.append(
            [
                label,
                " / ".join(f"{v:.3f}" for v in a[0]),
                " / ".join(
                    f"{m:.3f} ± {d:.3f}" for m, d in zip(a[1:].mean(0), a[1:].std(0), strict=True)
                ),
                " / ".join(f"{c.mean():+.3f} ({c.min():+.3f}..{c.max():+.3f})" for c in change.T),
            ]
        )
    return rows


def resplit_table(table: FeatureTable, variants: dict[str, tuple[str, dict]], seeds: int) -> str:
    """``resplit_rows`` as a markdown table."""
    header = [
        "span features",
        "official split",
        f"mean ± sd, splits 1-{seeds}",
        "change vs shipped, split by split: mean (min..max)",
    ]
    return md_table(header, resplit_rows(table, variants, seeds))


def run(work: Path, seeds: int = 8) -> str:
    table = FeatureTable.load(str(TABLE))
    late, sent, clause = span_cosines(table, work)
    q = table.span_question
    sent_cols, clause_cols = _with_best(sent, q), _with_best(clause, q)
    sent_names = ("sent", "sent_gap", "sent_best")
    clause_names = ("clause", "clause_gap", "clause_best")
    variants = {
        "shipped (late: stored late-chunked span cosine)": ("late", {}),
        "dense variant (no sentence states)": ("dense", {}),
        "+ span encoded on its own": ("late", dict(zip(sent_names, sent_cols, strict=True))),
        "+ best clause, late-chunked": (
            "late",
            dict(zip(clause_names, clause_cols, strict=True)),
        ),
    }
    stored = table.span_x[:, fit_mod.SPAN_FEATURES.index("late")]
    both = np.isfinite(late)
    agreement = float(np.corrcoef(late[both], stored[both])[0, 1])
    rows = []
    for label, (variant, extra) in variants.items():
        log(f"span_dense: refit {label}")
        f = refit(table, extra, variant)
        rows.append(
            [
                label,
                f"{f['all_unanswerable_refused']:.3f}",
                f"{f['all_answerable_refused']:.3f}",
                f"{f['all_answer_accuracy']:.3f}",
                f"{f['chosen_holds']:.3f}",
                f"{f['gate_auc']:.3f}",
            ]
        )
    rows.append(
        ["GBT span scorer, shipped features", "–", "–", "–", f"{gbt_chosen_holds(table):.3f}", "–"]
    )
    split_table = resplit_table(table, variants, seeds)
    aligned = float(np.isfinite(late).mean())
    header = [
        "span features (held-out articles)",
        "unanswerable refused",
        "answerable refused",
        "answer accuracy",
        "chosen span holds the answer",
        "gate AUC",
    ]
    return "\n".join(
        [
            f"### Dense span features and a tree span scorer ({len(table.q_answerable)} questions, "
            f"held-out articles; {aligned:.1%} of spans re-derived identically; the stored "
            f"late cosine against one re-derived from a single unpadded pass: r = "
            f"{agreement:.4f})",
            "",
            md_table(header, rows),
            "",
            f"Over the official split and {seeds} random article splits (unanswerable refused / "
            "answerable refused / answer accuracy, held-out articles of each split):",
            "",
            split_table,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    args = probe_parser(__doc__).parse_args(argv)
    write_report(args.out, run(args.work, args.seeds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
