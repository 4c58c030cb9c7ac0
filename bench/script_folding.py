"""Traditional/simplified folding, measured: DRCD (traditional Chinese) asked as written and
asked in simplified Chinese must score the same.

Why: Wenda folds traditional to simplified for matching only (tokens, question terms),
while citations keep the document's script. DRCD's 1,000 test paragraphs are traditional
Wikipedia text; each question is asked twice, as given and converted to simplified by
OpenCC (t2s). With the fold the two hit@1 figures must be within 0.02; the hit check
uses the gold (traditional) answers against the cited (traditional) passage, so it also
shows that citations keep the original script.

Run: ``.venv/bin/python bench/script_folding.py [--limit N] [--out FILE]``. The corpus and
index are cached under bench/_work/drcd_* (an unchanged corpus is not re-embedded).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wenda.index.evaluation import EvalItem, evaluate
from wenda.index.ingest.normalize import fold

from bench.cmrc import eval_items, load_cmrc, write_corpus
from bench.common import SHARED_EVAL, WORK, log, md_table, write_report
from bench.quality import open_core

DRCD_FILE = SHARED_EVAL / "drcd_test.json"
MAX_GAP = 0.02  # the acceptance bound on |hit@1(as given) - hit@1(simplified)|


def simplified(items: list[EvalItem]) -> list[EvalItem]:
    """The same questions converted to simplified Chinese (answers stay traditional)."""
    return [dataclasses.replace(i, question=fold(i.question)) for i in items]


def lexical_ablation(paragraphs: list, given: list[EvalItem], converted: list[EvalItem]) -> str:
    """hit@1 of plain BM25 over 200-char windows with jieba tokens folded or not.

    No dense side, no rerank: this isolates what the fold itself does to lexical matching.
    """
    import bm25s
    import jieba
    from wenda.index.evaluation import squash
    from wenda.index.ingest.normalize import match_key, nfkc

    jieba.setLogLevel(60)
    windows = [
        (f"{p.pid}.txt", p.context[s : s + 200])
        for p in paragraphs
        for s in range(0, max(1, len(p.context) - 100), 100)
    ]
    rows = []
    for label, norm in (("NFKC only (no fold)", nfkc), ("NFKC + t2s fold (shipped)", match_key)):

        def toks(text: str, norm=norm) -> list[str]:
            return [t for t in jieba.lcut_for_search(norm(text)) if t.strip()] or [""]

        retriever = bm25s.BM25()
        retriever.index([toks(w) for _, w in windows], show_progress=False)
        cells = [label]
        for items in (given, converted):
            hits = 0
            for item in items:
                best = int(retriever.get_scores(toks(item.question)).argmax())
                doc, text = windows[best]
                hits += doc == item.doc_id and any(squash(a) in squash(text) for a in item.answers)
            cells.append(f"{hits / max(1, len(items)):.3f}")
        rows.append(cells)
    return md_table(["BM25 tokens", "hit@1 as given", "hit@1 simplified"], rows)


def run(limit: int | None, mode: str) -> tuple[str, dict[str, float], dict[str, float]]:
    paragraphs = load_cmrc(DRCD_FILE)
    given = eval_items(paragraphs)
    given = given[:limit] if limit else given
    converted = simplified(given)
    changed = sum(a.question != b.question for a, b in zip(given, converted, strict=True))
    corpus = WORK / "drcd_corpus"
    if not corpus.is_dir() or len(list(corpus.glob("*.txt"))) != len(paragraphs):
        write_corpus(paragraphs, corpus)
    log(f"drcd: {len(paragraphs)} paragraphs, {len(given)} questions; building/opening index")
    core, secs = open_core(corpus, WORK / "drcd_index")
    try:
        status = core.status()
        results = {}
        for name, items in (
            ("as given (traditional)", given),
            ("converted to simplified", converted),
        ):
            log(f"drcd: asking {len(items)} questions {name}")
            t0 = time.perf_counter()
            result = evaluate(items, lambda q: core.ask(q, top_k=10, mode=mode))
            ms = (time.perf_counter() - t0) * 1000 / max(1, len(items))
            results[name] = {**result.metrics, "ms": ms}
    finally:
        core.close()
    a, b = results.values()
    gap = abs(a["hit@1"] - b["hit@1"])
    rows = [
        [name, f"{m['hit@1']:.3f}", f"{m['hit@5']:.3f}", f"{m['mrr@10']:.3f}", f"{m['ms']:.1f}"]
        for name, m in results.items()
    ]
    text = "\n".join(
        [
            f"### DRCD test: script folding ({len(given)} questions, {len(paragraphs)} paragraphs)",
            "",
            f"Index: {status.documents} documents, {status.chunks} chunks, model {status.model},"
            f" mode {mode}; built/opened in {secs:.0f} s. {changed} of {len(given)} questions"
            " change when converted to simplified. Hit = a passage of the gold paragraph"
            " containing a (traditional) gold answer.",
            "",
            md_table(["questions", "hit@1", "hit@5", "MRR@10", "ms/question"], rows),
            "",
            f"hit@1 gap: {gap:.3f} (bound {MAX_GAP}) → {'PASS' if gap <= MAX_GAP else 'FAIL'}",
            "",
            "What the fold itself does, on plain BM25 over 200-character windows:",
            "",
            lexical_ablation(paragraphs, given, converted),
        ]
    )
    return text, a, b


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N questions only")
    parser.add_argument("--mode", default="hybrid+rerank")
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = parser.parse_args(argv)
    text, a, b = run(args.limit, args.mode)
    write_report(args.out, text)
    return 0 if abs(a["hit@1"] - b["hit@1"]) <= MAX_GAP else 1


if __name__ == "__main__":
    sys.exit(main())
