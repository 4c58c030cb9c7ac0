"""The ``wenda`` command line: index, ask, eval, status, rollback (+ serve, bot via plugins).

``serve`` and ``bot`` live in the adapters and register themselves through the
``wenda.commands`` entry-point group, so this pure core never imports web or bot code.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from wenda.index.errors import StoreUnavailableError, WendaError
from wenda.index.models import MODES
from wenda.index.settings import Settings

if TYPE_CHECKING:
    from wenda.index.evaluation import EvalResult

log = logging.getLogger("wenda.cli")


def _progress_printer(stage: str, done: int, total: int) -> None:
    if stage in ("scan", "write", "publish") and done == 0:
        print(f"… {stage}", file=sys.stderr)


def _serving_version(settings: Settings) -> str | None:
    """The published version a failed build leaves serving."""
    from wenda.index.store.base import open_store

    store = open_store(settings)
    try:
        return store.current()
    finally:
        store.close()


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from wenda.index.builder import build_index
    from wenda.index.embedding.base import load_embedder
    from wenda.index.store.lexical import ChineseTokenizer
    from wenda.index.write_errors import index_writes

    embedder = load_embedder(settings)
    # disk full, read-only folder, …: one IndexWriteError line (printed by main), exit 1
    with index_writes(settings.index_dir, lambda: _serving_version(settings)):
        report = build_index(settings, embedder, ChineseTokenizer(), _progress_printer, args.full)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
        return 0
    kind = "full rebuild" if report.full_rebuild else "incremental"
    state = (
        f"published {report.version}" if report.published else f"unchanged, kept {report.version}"
    )
    print(f"索引完成 ({kind}): {state}")
    print(
        f"  documents: {len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.removed)} removed, {len(report.unchanged)} unchanged, "
        f"{len(report.skipped)} skipped"
    )
    for path, reason in report.skipped:
        print(f"  skipped {path}: {reason}")
    print(f"  chunks: {report.chunks_total} total, {report.chunks_embedded} embedded")
    print(f"  took {report.seconds:.2f} s")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from wenda.index.core import Wenda

    core = Wenda.open(settings)
    answer = core.ask(args.question, args.top_k, args.mode)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        return 0
    print(answer.answer)
    if not answer.answerable and answer.reason and answer.reason != answer.answer:
        print(answer.reason)
    print()
    if not answer.answerable and answer.passages:
        print("最接近的段落 (closest passages):")
    for p in answer.passages:
        flat = " ".join(p.text.split())
        snippet = flat if len(flat) <= 120 else flat[:120] + "…"
        where = f"{p.title} · {p.section}" if p.section else p.title
        where += f" · 第{p.page}页" if p.page else ""
        print(f"[{p.n}] {where} ({p.doc_id} {p.start}-{p.end}, score {p.score:.2f})")
        print(f"    {snippet}")
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from wenda.index.core import Wenda
    from wenda.index.evaluation import evaluate, load_jsonl

    if args.squad:
        return _eval_squad(args, settings)
    if not args.file:
        print(
            "需要一个问题集文件或 --squad FILE (give FILE.jsonl or --squad FILE)", file=sys.stderr
        )
        return 2
    items = load_jsonl(Path(args.file))
    core = Wenda.open(settings)
    result = evaluate(items, lambda q: core.ask(q, top_k=10, mode=args.mode))
    _print_eval(args, result)
    return 0


def _eval_squad(args: argparse.Namespace, settings: Settings) -> int:
    """Index a SQuAD-style file's paragraphs in a work folder and score its questions."""
    import tempfile

    from wenda.index.core import Wenda
    from wenda.index.evaluation import evaluate
    from wenda.index.squad import as_given, cut_answers, load_squad, write_corpus

    paragraphs = load_squad(Path(args.squad))
    squad = cut_answers(paragraphs) if args.cut_answers else as_given(paragraphs)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        write_corpus(squad.paragraphs, work / "corpus")
        local = settings.model_copy(
            update={"corpus_dir": work / "corpus", "index_dir": work / "index"}
        )
        core = Wenda.open(local)
        try:
            result = evaluate(squad.items, lambda q: core.ask(q, top_k=10, mode=args.mode))
        finally:
            core.close()
    unanswerable = sum(1 for i in squad.items if not i.answerable)
    print(
        f"{len(squad.paragraphs)} paragraphs, {len(squad.items)} questions "
        f"({unanswerable} made unanswerable, {squad.dropped} dropped)",
        file=sys.stderr,
    )
    _print_eval(args, result)
    return 0


def _print_eval(args: argparse.Namespace, result: EvalResult) -> None:
    from wenda.index.evaluation import format_result

    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    else:
        print(format_result(result))
        for failure in result.failures:
            print("  miss:", json.dumps(failure, ensure_ascii=False))


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from wenda.index.core import Wenda

    status = Wenda.open(settings, build_if_missing=False).status()
    print(json.dumps(asdict(status), ensure_ascii=False, indent=1))
    return 0


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from wenda.index.feedback import FeedbackStore

    store = FeedbackStore.in_index_dir(settings.index_dir)
    if args.export:
        count = store.export_eval(args.export)
        print(f"已导出 {count} 个 👎 问题到 {args.export} (exported {count} down-voted questions)")
        return 0
    records = store.records()
    for r in records:
        if args.json:
            print(json.dumps(r.to_dict(), ensure_ascii=False))
            continue
        mark = "👍" if r.vote == "up" else "👎"
        asked = r.question
        if r.resolved_question != r.question:
            asked += f" (→ {r.resolved_question})"
        print(f"{r.id:>4} {r.created_at} {mark} [{r.source or '-'}] {asked}")
        print(f"     {' '.join(r.answer.split())[:120]}")
    if not args.json:
        ups = sum(r.vote == "up" for r in records)
        print(f"共 {len(records)} 条 (👍 {ups}, 👎 {len(records) - ups})")
    return 0


def cmd_rollback(args: argparse.Namespace, settings: Settings) -> int:
    from wenda.index.store.base import open_store
    from wenda.index.write_errors import index_writes

    store = open_store(settings)  # the configured backend (local or Milvus)
    try:
        with index_writes(settings.index_dir, store.current):
            version = store.rollback()
    except FileNotFoundError as exc:
        print(f"无法回滚 (cannot roll back): {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"已回滚到 {version} (rolled back)")
    return 0


def cmd_model(args: argparse.Namespace, settings: Settings) -> int:
    """``wenda model prepare``: build the model cache now instead of on first use."""
    import time

    from wenda.index.embedding.st_model import prepare_model

    start = time.monotonic()

    def say(message: str) -> None:
        print(f"[{time.monotonic() - start:5.1f}s] {message}", file=sys.stderr, flush=True)

    path = prepare_model(settings, say)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"模型已就绪 (model ready): {path} ({size / 1e6:.0f} MB)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wenda", description="Wenda 问答: cited answers from Chinese documents"
    )
    parser.add_argument("--corpus-dir", type=Path, help="documents folder (WENDA_CORPUS_DIR)")
    parser.add_argument("--index-dir", type=Path, help="index folder (WENDA_INDEX_DIR)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build or update the index (incremental, atomic)")
    p.add_argument("--full", action="store_true", help="re-embed every document")
    p.add_argument("--json", action="store_true", help="print the build report as JSON")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("ask", help="answer one question with citations")
    p.add_argument("question", help='the question, in quotes (e.g. "成达万高铁何时批复？")')
    p.add_argument(
        "--top-k", type=int, default=None, help="passages to show (default WENDA_TOP_K, 5)"
    )
    p.add_argument(
        "--mode",
        choices=MODES,
        default=None,
        help="retrieval mode (default WENDA_RETRIEVAL_MODE, hybrid+rerank)",
    )
    p.add_argument("--json", action="store_true", help="print the answer object as JSON")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("feedback", help="list the 👍/👎 votes on answers (bot and web page)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--export",
        metavar="FILE.jsonl",
        type=Path,
        help="write the 👎 questions in the eval format (seeds_dev.jsonl) for review",
    )
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("eval", help="score a question set (seeds_dev.jsonl format)")
    p.add_argument("file", nargs="?", help="question set in the seeds_dev.jsonl format")
    p.add_argument(
        "--squad", metavar="FILE", help="SQuAD-style JSON: index its paragraphs, ask its questions"
    )
    p.add_argument(
        "--cut-answers",
        action="store_true",
        help="with --squad: per paragraph, delete the sentences holding one question's answer "
        "(SQuAD 2.0-style), so that question must be refused",
    )
    p.add_argument("--work", type=Path, help="with --squad: keep corpus and index here")
    p.add_argument("--mode", choices=MODES, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("status", help="show the published index version and counts")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("rollback", help="point the index back at the previous version")
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("model", help="prepare the embedding model cache ahead of first use")
    p.add_argument("action", choices=["prepare"], help="prepare: build the cache now")
    p.set_defaults(func=cmd_model)

    for ep in entry_points(group="wenda.commands"):
        try:
            ep.load()(sub)
        except Exception as exc:  # an adapter that fails to import must not break the core CLI
            log.warning("command %r unavailable: %s", ep.name, exc)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # bm25s sets its own logger to DEBUG
        handler.setLevel(level)
    overrides = {}
    if args.corpus_dir:
        overrides["corpus_dir"] = args.corpus_dir
    if args.index_dir:
        overrides["index_dir"] = args.index_dir
    try:
        settings = Settings(**overrides)
        return int(args.func(args, settings) or 0)
    except StoreUnavailableError as exc:  # the index backend (Milvus) is down: exit code 2
        print(f"错误 (error): {exc.message}", file=sys.stderr)
        return 2
    except WendaError as exc:
        print(f"错误 (error): {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
