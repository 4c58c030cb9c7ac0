"""Run an ONNX encoder graph (``input_ids``, ``attention_mask`` -> ``last_hidden_state``)
with onnxruntime and ``tokenizers`` directly, no torch or transformers in the process.

It reproduces what ``SentenceTransformer.encode`` does for a Transformer -> mean Pooling
-> Normalize model (prompt prefix, truncation to ``max_seq_length``, length-sorted
batches, masked mean, L2 norm): ~1 ms of overhead per call instead of ~5 ms, which
matters at ~10 ms per query.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from wenda.index.embedding.sentence_states import pool


def available_cores() -> int:
    """CPUs this process may run on (cgroup/affinity aware where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


MAX_BATCH_TOKENS = 2048
"""Rows x padded length per session call; the int8 kernels' sweet spot (bench/embed_speed.py)."""


class OnnxEncoder:
    """Mean-pooled, L2-normalized sentence embeddings from an ONNX encoder graph."""

    def __init__(
        self,
        tokenizer_file: Path,
        onnx_file: Path,
        dim: int,
        max_length: int = 512,
        pad_id: int = 1,
        threads: int | None = None,
        max_batch_tokens: int = MAX_BATCH_TOKENS,
        parallel_batches: bool = True,
    ) -> None:
        """``threads``: cores. With ``parallel_batches`` (the default) one single-threaded
        session serves everything: questions, and batches run one per core at once
        (sessions are thread-safe). Single-threaded questions encode as fast as on two
        threads in process (3.32 vs 3.27 ms), and in ``wenda serve``, with a client on the
        same two cores, two threads' wake-ups made the encode stage 4.9-9.0 ms against
        4.3-4.7 ms and ``POST /ask`` p50 10.0-13.5 ms against 7.9-8.2 ms (3 alternating
        rounds, README "Performance"). Per-core batches beat one run on all cores: no
        per-op barriers between threads, which stall whenever the machine is busy.
        Without ``parallel_batches`` one session runs every call on ``threads`` threads
        (the previous default, kept for same-run comparisons)."""
        from tokenizers import Tokenizer

        self.max_length = max_length
        self.max_batch_tokens = max_batch_tokens
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_length)
        self.pad_id = pad_id
        self.dim = dim

        self.threads = threads or available_cores()
        self.parallel_batches = parallel_batches
        self.session = _session(onnx_file, 1 if parallel_batches else self.threads)
        self._inputs = {i.name for i in self.session.get_inputs()}

    @classmethod
    def from_st_dir(cls, model_dir: Path, onnx_file: Path, **kwargs: Any) -> OnnxEncoder:
        """For an exported sentence-transformers model (Transformer -> mean Pooling)."""
        st_config = _read_json(model_dir / "sentence_bert_config.json")
        pooling = _read_json(model_dir / "1_Pooling" / "config.json")
        if not pooling.get("pooling_mode_mean_tokens", False):
            raise ValueError("OnnxEncoder supports mean pooling only")
        return cls(
            model_dir / "tokenizer.json",
            onnx_file,
            dim=int(pooling["word_embedding_dimension"]),
            max_length=int(st_config.get("max_seq_length", 512)),
            pad_id=int(_read_json(model_dir / "config.json").get("pad_token_id", 0)),
            **kwargs,
        )

    def encode(
        self,
        texts: list[str],
        prompt: str = "",
        batch_size: int = 32,
        show_progress: bool = False,
    ) -> np.ndarray:
        """float32 (n, dim), rows L2-normalized; ``prompt`` is prefixed like ST's ``prompt=``.

        Batches hold at most ``batch_size`` texts and ``max_batch_tokens`` padded tokens:
        counted in tokens, not characters, so long and short texts cost the same per call.
        """
        return self._encode_all(texts, prompt, batch_size, show_progress, None)[0]

    def encode_with_states(
        self,
        texts: list[str],
        prompt: str,
        bounds: list[list[tuple[int, int]]],
        batch_size: int = 32,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """``encode``, and per text the sums of its token states inside each of its
        ``bounds`` (character offsets in the text, without the prompt): late chunking,
        from the same model run (``embedding.sentence_states``)."""
        return self._encode_all(texts, prompt, batch_size, False, bounds)

    def _encode_all(
        self,
        texts: list[str],
        prompt: str,
        batch_size: int,
        show_progress: bool,
        bounds: list[list[tuple[int, int]]] | None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        states: list[np.ndarray] = [np.zeros((0, self.dim), np.float32)] * len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), states
        encodings = self.tokenizer.encode_batch([prompt + t for t in texts])
        # Longest first, like sentence-transformers: batches share lengths, less padding.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        batches = token_batches(
            [len(encodings[i].ids) for i in order], batch_size, self.max_batch_tokens
        )
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        progress = None
        if show_progress:
            from tqdm.auto import tqdm

            progress = tqdm(total=len(texts), desc="Embedding", unit="text")
        workers = self.threads if self.parallel_batches and len(batches) > 1 else 1
        shift = len(prompt)

        def embed(span: tuple[int, int]) -> tuple[np.ndarray, list[np.ndarray]]:
            rows = order[span[0] : span[1]]
            hidden, mask = self._run([encodings[i].ids for i in rows])
            pooled = _mean_pool(hidden, mask)
            if bounds is None:
                return pooled, []
            return pooled, [
                pool(
                    hidden[r, : len(encodings[i].ids)],
                    encodings[i].offsets,
                    [(lo + shift, hi + shift) for lo, hi in bounds[i]],
                )
                for r, i in enumerate(rows)
            ]

        def fill(results: Iterator[tuple[np.ndarray, list[np.ndarray]]]) -> None:
            for (start, stop), (vectors, pooled) in zip(batches, results, strict=True):
                out[order[start:stop]] = vectors
                for i, sums in zip(order[start:stop], pooled, strict=False):
                    states[i] = sums
                if progress is not None:
                    progress.update(stop - start)

        if workers == 1:  # a question, or one batch: no pool, no thread start per call
            fill(map(embed, batches))
        else:
            with ThreadPoolExecutor(workers) as pool_:
                fill(pool_.map(embed, batches))
        if progress is not None:
            progress.close()
        return out, states

    def encode_beside(self, text: str, prompt: str, started: Callable[[], None]) -> np.ndarray:
        """One text, as ``encode``; ``started()`` is called just before the model runs.

        The model run releases the GIL for ~3 ms, so Python work that ``started`` hands to
        another thread then has the interpreter to itself; handed over any earlier, it held
        the GIL while this thread still needed it to tokenize (encode 0.15-0.3 ms slower).
        """
        ids = self.tokenizer.encode_batch([prompt + text])[0].ids
        return self._embed([ids], started)[0]

    def _embed(
        self, batch: list[list[int]], started: Callable[[], None] | None = None
    ) -> np.ndarray:
        return _mean_pool(*self._run(batch, started))

    def _run(
        self, batch: list[list[int]], started: Callable[[], None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Last hidden states (rows, length, dim) of a padded batch, and its mask."""
        length = max(len(ids) for ids in batch)
        input_ids = np.full((len(batch), length), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        if started is not None:
            started()
        return self.session.run(None, feeds)[0], mask


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask[:, :, None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _session(onnx_file: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])


def token_batches(lengths: list[int], max_rows: int, max_tokens: int) -> list[tuple[int, int]]:
    """[start, stop) runs over ``lengths`` (longest first) that fit rows x longest <= budget.

    A text longer than the budget still gets a batch of its own.
    """
    batches = []
    start = 0
    while start < len(lengths):
        longest = max(1, lengths[start])
        rows = max(1, min(max_rows, max_tokens // longest))
        stop = min(len(lengths), start + rows)
        batches.append((start, stop))
        start = stop
    return batches


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
