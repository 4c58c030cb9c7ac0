"""Run a sentence-transformers model's exported ONNX encoder with onnxruntime directly.

It reproduces what ``SentenceTransformer.encode`` does for a Transformer -> mean Pooling
-> Normalize model (prompt prefix, truncation to ``max_seq_length``, length-sorted
batches, masked mean, L2 norm) from the same model directory, with no torch in the hot
path: ~1 ms of overhead per call instead of ~5 ms, which matters at ~10 ms per query.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np


def available_cores() -> int:
    """CPUs this process may run on (cgroup/affinity aware where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


class OnnxEncoder:
    """Mean-pooled, L2-normalized sentence embeddings from an ONNX encoder graph."""

    def __init__(self, model_dir: Path, onnx_file: Path, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        st_config = _read_json(model_dir / "sentence_bert_config.json")
        pooling = _read_json(model_dir / "1_Pooling" / "config.json")
        if not pooling.get("pooling_mode_mean_tokens", False):
            raise ValueError("OnnxEncoder supports mean pooling only")
        self.max_length = int(st_config.get("max_seq_length", 512))
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_length)
        config = _read_json(model_dir / "config.json")
        self.pad_id = int(config.get("pad_token_id", 0))
        self.dim = int(pooling["word_embedding_dimension"])

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or available_cores()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}

    def encode(
        self,
        texts: list[str],
        prompt: str = "",
        batch_size: int = 32,
        show_progress: bool = False,
    ) -> np.ndarray:
        """float32 (n, dim), rows L2-normalized; ``prompt`` is prefixed like ST's ``prompt=``."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch([prompt + t for t in texts])
        # Longest first, like sentence-transformers: batches share lengths, less padding.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        starts = range(0, len(order), batch_size)
        if show_progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="Embedding", unit="batch")
        for start in starts:
            idx = order[start : start + batch_size]
            out[idx] = self._embed([encodings[i].ids for i in idx])
        return out

    def _embed(self, batch: list[list[int]]) -> np.ndarray:
        length = max(len(ids) for ids in batch)
        input_ids = np.full((len(batch), length), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        hidden = self.session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
