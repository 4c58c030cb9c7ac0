"""Store benchmarks: incremental HNSW (append vs rebuild) and the lexical depth of the rerank.

Why: (1) above the ANN threshold an incremental build used to rebuild HNSW from every
vector; the local store now adds only the new vectors to a copy of the previous index when
nothing was removed or changed. ``hnsw`` times both paths on the same synthetic vectors, in
one run, through the real writer (``LocalStore``). (2) The store interface returns the
lexical top-k instead of a BM25 score for every chunk, so the rerank sees BM25 = 0 for
dense-only candidates outside it; ``lexdepth`` measures CMRC hit@1 for depths of 1×, 2×
candidate_k and "every chunk" (the old behaviour) with the default model.

    python bench/store_bench.py hnsw [--n 100000] [--new 1000]
    python bench/store_bench.py lexdepth [--limit N]
    python bench/store_bench.py verify [--n 100000]   # cost of the integrity checks on load
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from wenda.index.models import Chunk
from wenda.index.store.base import StoredDocument
from wenda.index.store.dense import DenseParams
from wenda.index.store.local import LocalStore
from wenda.index.store.local_writer import LocalWriter
from wenda.index.store.manifest import Manifest

from bench.common import WORK, log, md_table, write_report

DIM = 384
DOC_CHUNKS = 100  # synthetic documents of 100 chunks each


def _synthetic_doc(
    i: int, rng: np.random.Generator
) -> tuple[StoredDocument, list[Chunk], np.ndarray]:
    text = "".join(f"第{i}篇第{j}段。" for j in range(DOC_CHUNKS))
    doc = StoredDocument(f"d{i:06d}.txt", f"d{i}", f"h{i}", text, (), "2026-01-01T00:00:00+00:00")
    step = len(text) // DOC_CHUNKS
    chunks = [
        Chunk(doc.doc_id, doc.title, "", j * step, (j + 1) * step, text[j * step : (j + 1) * step])
        for j in range(DOC_CHUNKS)
    ]
    vectors = rng.standard_normal((DOC_CHUNKS, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return doc, chunks, vectors


def _publish(store: LocalStore, docs: range, copy: list[str], seed: int) -> tuple[str, float, str]:
    rng = np.random.default_rng(seed)
    previous = store.open(store.current()) if store.current() else None
    manifest = Manifest(model="synthetic", dim=DIM, chunker={}, tokenizer="t")
    writer = store.begin(previous, manifest)
    assert isinstance(writer, LocalWriter)
    for doc_id in copy:
        writer.copy_document(doc_id)
    for i in docs:
        doc, chunks, vectors = _synthetic_doc(i, rng)
        writer.add_document(doc, chunks, vectors, [[f"t{i}", f"c{j}"] for j in range(len(chunks))])
    t0 = time.perf_counter()
    version = writer.publish()
    seconds = time.perf_counter() - t0
    if previous is not None:
        previous.close()
    return version, seconds, writer.dense_build


def bench_hnsw(n: int, new: int, ann_threshold: int) -> str:
    """Publish n chunks, then n + new twice: all kept (append) and one doc changed (rebuild)."""
    params = DenseParams(ann_threshold=ann_threshold)
    base_docs = n // DOC_CHUNKS
    add_docs = max(1, new // DOC_CHUNKS)
    WORK.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        store = LocalStore(Path(tmp) / "idx", params)
        log(f"store bench: full build of {base_docs * DOC_CHUNKS} synthetic chunks")
        _, full_s, full_dense = _publish(store, range(base_docs), [], seed=1)
        first = store.open(store.current() or "")
        all_docs = sorted(first.manifest.documents)
        first.close()
        new_range = range(base_docs, base_docs + add_docs)
        log("store bench: incremental, nothing removed (append)")
        _, app_s, app_dense = _publish(store, new_range, all_docs, seed=2)
        log("store bench: incremental, one document changed (rebuild)")
        second = store.open(store.current() or "")
        kept = sorted(second.manifest.documents)[1:]  # drop one: HNSW must be rebuilt
        second.close()
        _, reb_s, reb_dense = _publish(
            store, range(base_docs + add_docs, base_docs + 2 * add_docs), kept, seed=3
        )
        rows = [
            ["full build", f"{base_docs * DOC_CHUNKS:,}", full_dense, f"{full_s:.1f}"],
            [
                "incremental, nothing removed",
                f"+{add_docs * DOC_CHUNKS:,}",
                app_dense,
                f"{app_s:.1f}",
            ],
            [
                "incremental, 1 doc removed",
                f"+{add_docs * DOC_CHUNKS:,}",
                reb_dense,
                f"{reb_s:.1f}",
            ],
        ]
    ratio = _seconds(reb_dense) / max(_seconds(app_dense), 1e-9)
    table = md_table(["publish", "chunks", "dense index (kind, seconds)", "publish s"], rows)
    return (
        f"### Incremental HNSW ({base_docs * DOC_CHUNKS:,} × {DIM}-d synthetic vectors, M=32)\n\n"
        f"{table}\n\nAppending to a copy of the previous HNSW is {ratio:.0f}× faster than "
        "rebuilding it (dense index time, same run).\n"
    )


def bench_verify(n: int) -> str:
    """Seconds to open (= verify) an n-chunk version: sizes only vs every file hashed."""
    from wenda.index.store import integrity

    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        store = LocalStore(Path(tmp) / "idx", DenseParams(ann_threshold=n))  # flat
        log(f"store bench: {n:,}-chunk flat version for the load check")
        version, _, _ = _publish(store, range(n // DOC_CHUNKS), [], seed=4)
        size = sum(p.stat().st_size for p in store.versions.path(version).rglob("*") if p.is_file())
        rows = []
        limit = integrity.HASH_LIMIT_BYTES
        for label, hash_limit in (
            ("sizes, quick_check, counts", 0),
            ("+ sha256 of every file", size),
        ):
            integrity.HASH_LIMIT_BYTES = hash_limit
            t0 = time.perf_counter()
            store.open(version).close()
            rows.append([label, f"{time.perf_counter() - t0:.2f}"])
        integrity.HASH_LIMIT_BYTES = limit
    table = md_table(["checks on load", "open s"], rows)
    return (
        f"### Verifying a version on load ({n:,} chunks, {size / 2**20:,.0f} MiB on disk)\n\n"
        f"{table}\n\nVersions up to {limit // 2**20} MiB are hashed in full; larger ones get "
        "the size, quick_check and count checks only.\n"
    )


def _seconds(dense_build: str) -> float:
    return float(dense_build.split()[-1].rstrip("s"))


def bench_lexdepth(limit: int | None) -> str:
    """CMRC hit@1/hit@5 of the default mode for several lexical depths, one index."""
    import wenda.index.query.retrieve as retrieve_module
    from wenda.index.evaluation import evaluate

    from bench.cmrc import eval_items, load_cmrc, write_corpus
    from bench.quality import bench_embedder, open_core

    paragraphs = load_cmrc()
    items = eval_items(paragraphs)[:limit] if limit else eval_items(paragraphs)
    work = WORK / "store_lexdepth"
    write_corpus(paragraphs, work / "corpus")
    core, _secs = open_core(work / "corpus", work / "index", bench_embedder(None))
    rows = []
    try:
        chunks = core.status().chunks
        for label, factor in (
            ("1 × candidate_k", 1),
            ("2 × candidate_k", 2),
            ("every chunk", chunks),
        ):
            retrieve_module.LEXICAL_DEPTH_FACTOR = factor
            log(f"lexdepth: {label}")
            result = evaluate(items, lambda q: core.ask(q, top_k=10))
            m = result.metrics
            rows.append([label, f"{m['hit@1']:.3f}", f"{m['hit@5']:.3f}", f"{m['mrr@10']:.3f}"])
    finally:
        core.close()
    table = md_table(["BM25 depth for the rerank", "hit@1", "hit@5", "MRR@10"], rows)
    return f"### Lexical depth of the rerank (CMRC trial, {len(items)} questions)\n\n{table}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["hnsw", "lexdepth", "verify"])
    parser.add_argument("--n", type=int, default=100_000, help="chunks in the first version")
    parser.add_argument("--new", type=int, default=1_000, help="chunks added incrementally")
    parser.add_argument("--ann-threshold", type=int, default=50_000)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, help="also write the markdown here")
    args = parser.parse_args(argv)
    if args.what == "hnsw":
        text = bench_hnsw(args.n, args.new, args.ann_threshold)
    elif args.what == "verify":
        text = bench_verify(args.n)
    else:
        text = bench_lexdepth(args.limit)
    write_report(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
