"""CMRC 2018 as a retrieval benchmark: one document per paragraph, every question scored.

Why: the seeds dev set is 24 questions; CMRC's trial split gives ~1,000 real questions over
256 Wikipedia paragraphs, so differences between modes are signal rather than noise. A hit
is a passage from the gold paragraph that contains a gold answer. A plain jieba + BM25
baseline over 200-character windows runs on the same data as a fixed reference point.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from wenda.index.embedding.base import Embedder
from wenda.index.evaluation import EvalItem, squash

from bench.common import CMRC_FILE, WORK, log, write_report
from bench.quality import ModeResult, ablation, ablation_table, bench_embedder, open_core


@dataclass(frozen=True)
class Paragraph:
    pid: str
    title: str
    context: str
    qas: tuple[tuple[str, str, tuple[str, ...]], ...]  # (id, question, answers)


def load_cmrc(path: Path = CMRC_FILE) -> list[Paragraph]:
    """Paragraphs of a SQuAD-style file (CMRC 2018 layout), in file order."""
    data = json.loads(path.read_text("utf-8"))["data"]
    out = []
    for article in data:
        for para in article["paragraphs"]:
            qas = tuple(
                (
                    qa["id"],
                    qa["question"],
                    tuple(dict.fromkeys(a["text"] for a in qa["answers"] if a["text"].strip())),
                )
                for qa in para["qas"]
            )
            title = article.get("title") or para.get("title") or para["id"]
            out.append(Paragraph(para["id"], title.strip(), para["context"], qas))
    return out


def doc_id_for(pid: str) -> str:
    return f"{pid}.txt"


def write_corpus(paragraphs: list[Paragraph], corpus_dir: Path) -> None:
    """One .txt per paragraph: title line, blank line, context (doc_id = ``<pid>.txt``)."""
    shutil.rmtree(corpus_dir, ignore_errors=True)
    corpus_dir.mkdir(parents=True)
    for p in paragraphs:
        (corpus_dir / doc_id_for(p.pid)).write_text(f"{p.title}\n\n{p.context}\n", "utf-8")


def eval_items(paragraphs: list[Paragraph]) -> list[EvalItem]:
    """Answerable questions with text (the trial file has two empty questions: skipped)."""
    return [
        EvalItem(id=qid, question=q, answers=answers, type="cmrc", doc_id=doc_id_for(p.pid))
        for p in paragraphs
        for qid, q, answers in p.qas
        if answers and q.strip()
    ]


def bm25_window_baseline(paragraphs: list[Paragraph], items: list[EvalItem]) -> dict[str, float]:
    """The reference point: jieba + BM25 over 200-char windows (stride 100), no fusion."""
    import bm25s
    import jieba

    jieba.setLogLevel(60)
    windows: list[tuple[str, str]] = []
    for p in paragraphs:
        text = p.context
        starts = range(0, max(1, len(text) - 100), 100)
        windows += [(doc_id_for(p.pid), text[s : s + 200]) for s in starts]

    def toks(s: str) -> list[str]:
        return [t for t in jieba.lcut_for_search(s) if t.strip()] or [""]

    retriever = bm25s.BM25()
    retriever.index([toks(w) for _, w in windows], show_progress=False)
    hit1 = hit5 = rr = 0.0
    for item in items:
        scores = retriever.get_scores(toks(item.question))
        top = np.argsort(-scores, kind="stable")[:10]
        golds = [squash(a) for a in item.answers]
        rank = next(
            (
                r
                for r, i in enumerate(top.tolist())
                if windows[i][0] == item.doc_id and any(g in squash(windows[i][1]) for g in golds)
            ),
            None,
        )
        if rank is not None:
            hit1 += rank == 0
            hit5 += rank < 5
            rr += 1 / (rank + 1)
    n = len(items)
    return {"n": n, "hit@1": hit1 / n, "hit@5": hit5 / n, "mrr@10": rr / n}


def run_cmrc(
    embedder: Embedder, work: Path, path: Path = CMRC_FILE, limit: int | None = None
) -> tuple[str, list[ModeResult]]:
    """Build the CMRC corpus and index under ``work`` and score every mode."""
    paragraphs = load_cmrc(path)
    items = eval_items(paragraphs)[:limit] if limit else eval_items(paragraphs)
    corpus = work / "cmrc_corpus"
    write_corpus(paragraphs, corpus)
    log(f"cmrc: {len(paragraphs)} paragraphs, {len(items)} questions; building index")
    core, secs = open_core(corpus, work / "cmrc_index", embedder)
    try:
        status = core.status()
        rows = ablation(core, items)
    finally:
        core.close()
    baseline = bm25_window_baseline(paragraphs, items)
    text = "\n".join(
        [
            f"### CMRC 2018 trial ({len(items)} questions, {len(paragraphs)} paragraphs)",
            "",
            f"Index: {status.documents} documents, {status.chunks} chunks "
            f"({status.dense_index}), model {status.model}; built and opened in {secs:.1f} s. "
            "Hit = a passage of the gold paragraph containing a gold answer. "
            "All questions are answerable, so false_rejection is the share the core refused.",
            "",
            ablation_table(rows, [("baseline: jieba+BM25, 200-char windows", baseline)]),
        ]
    )
    return text, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=CMRC_FILE, help="SQuAD-style JSON")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N questions")
    parser.add_argument("--model", default=None, help="embedder (default: the real default model)")
    parser.add_argument("--keep", type=Path, help="keep corpus and index in this directory")
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args(argv)
    embedder = bench_embedder(args.model)
    if args.keep:
        text, _ = run_cmrc(embedder, args.keep, args.file, args.limit)
    else:
        WORK.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=WORK) as tmp:
            text, _ = run_cmrc(embedder, Path(tmp), args.file, args.limit)
    write_report(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
