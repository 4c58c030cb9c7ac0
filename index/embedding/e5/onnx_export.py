"""Export a converted model to ONNX (fp32, with onnxruntime's fusions) beside its weights.

sentence-transformers' own ONNX backend needs ``optimum-onnx``, which currently pins
transformers < 4.58 and so cannot live beside sentence-transformers 6; we export with
``torch.onnx`` and quantize with onnxruntime instead. Files land in ``<model>/onnx/`` with
optimum's names and I/O (``input_ids``, ``attention_mask`` -> ``last_hidden_state``), so
where optimum is available ``SentenceTransformer(path, backend="onnx",
model_kwargs={"file_name": "onnx/model_O2.onnx"})`` loads them too.

``quantize_int8`` makes the int8 variant that ``bench/embed_speed.py`` compares: faster
still, but its vectors move with batch composition (dynamic activation ranges), so the
default stays fp32.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from wenda.index.embedding.e5.convert import atomic_build

ONNX_DIR = "onnx"
FUSED_FILE = "model_O2.onnx"
"""fp32 with onnxruntime's transformer fusions (Attention, SkipLayerNorm, BiasGelu)."""
INT8_FILE = "model_quint8_avx2.onnx"
"""Per-channel uint8 weights, dynamic uint8 activations (no u8s8 saturation on AVX2)."""
RECIPE_VERSION = 1
"""Bump when export or quantization settings change, so old exports are replaced."""
_OPSET = 17
_MAX_EXPORT_ERROR = 1e-3


def ensure_onnx(model_dir: Path) -> Path:
    """``<model_dir>/onnx`` holding ``FUSED_FILE``, exported first if missing (atomic, locked)."""
    stamp = {"recipe": RECIPE_VERSION, "files": [FUSED_FILE]}
    return atomic_build(model_dir / ONNX_DIR, lambda tmp: build_onnx(model_dir, tmp), stamp)


def build_onnx(model_dir: Path, out_dir: Path) -> None:
    """Export fp32, then fuse; only the fused graph is kept."""
    raw = out_dir / "model_export.onnx"
    export_fp32(model_dir, raw)
    fuse(raw, out_dir / FUSED_FILE, _hidden_and_heads(model_dir))
    raw.unlink()


def _hidden_and_heads(model_dir: Path) -> tuple[int, int]:
    import json

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    return int(config["hidden_size"]), int(config["num_attention_heads"])


def export_fp32(model_dir: Path, out_file: Path) -> None:
    """Trace the encoder (eager attention) and check ONNX Runtime reproduces it."""
    import torch
    from transformers import AutoModel
    from wenda.index.embedding.quiet import quiet_transformers

    with quiet_transformers():
        model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    wrapper = _last_hidden(model)
    ids = torch.tensor([[0, 6, 5, 4, 7, 8, 9, 2], [0, 6, 5, 2, 1, 1, 1, 1]], dtype=torch.long)
    mask = (ids != model.config.pad_token_id).long()
    with torch.inference_mode():
        expected = wrapper(ids, mask).numpy()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation and tracer notices
        torch.onnx.export(
            wrapper,
            (ids, mask),
            str(out_file),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "last_hidden_state": {0: "batch", 1: "sequence"},
            },
            opset_version=_OPSET,
            dynamo=False,
            external_data=False,
        )
    got = _run(out_file, ids.numpy(), mask.numpy())
    error = float(np.abs(got - expected)[mask.numpy().astype(bool)].max())
    if error > _MAX_EXPORT_ERROR:
        raise RuntimeError(f"ONNX export differs from torch by {error:.2e}")


def fuse(src: Path, dst: Path, hidden_and_heads: tuple[int, int]) -> None:
    """onnxruntime's BERT fusions; the int8 pass quantizes the fused Attention too."""
    from onnxruntime.transformers import optimizer

    hidden, heads = hidden_and_heads
    logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
    fused = optimizer.optimize_model(
        str(src), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1
    )
    fused.save_model_to_file(str(dst))


def quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic int8 of a fused graph. Per-channel uint8 weights keep cosine ~0.997 to
    fp32 (per-tensor int8 weights: ~0.990, and a lower CMRC MRR)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # "consider pre-processing" chatter from the quantizer
    try:
        quantize_dynamic(
            str(src),
            str(dst),
            per_channel=True,
            weight_type=QuantType.QUInt8,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)


def _run(path: Path, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


def _last_hidden(model):
    """Wrap the HF model so the traced graph has exactly optimum's inputs and output."""
    import torch

    class LastHidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    return LastHidden(model).eval()
