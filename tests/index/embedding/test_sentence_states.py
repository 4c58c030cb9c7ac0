"""Late-chunked sentence states: pooling, packing, and the real encoder's states."""

from __future__ import annotations

import numpy as np
import pytest
from wenda.index.embedding.base import HashingEmbedder, encode_with_states, has_sentence_states
from wenda.index.embedding.sentence_states import MAX_BYTES, chunk_sentences, pack, pool, unpack
from wenda.index.models import Chunk

TEXT = "馆长是林晓雯。馆藏图书三十万册！开放时间为每天九点。"


def _chunk(section: str = "概况") -> Chunk:
    return Chunk("lib.md", "图书馆", section, 10, 10 + len(TEXT), TEXT)


def test_sentences_are_located_in_the_embedded_text_after_the_heading() -> None:
    chunk = _chunk()
    embedded = f"{chunk.section}：{chunk.text}"
    bounds = chunk_sentences(chunk, embedded)
    assert [embedded[a:b] for a, b in bounds] == [
        "馆长是林晓雯。",
        "馆藏图书三十万册！",
        "开放时间为每天九点。",
    ]
    assert chunk_sentences(chunk, "别的文字") == []


def test_pool_sums_the_tokens_wholly_inside_each_sentence() -> None:
    hidden = np.arange(12, dtype=np.float32).reshape(4, 3)
    offsets = [(0, 0), (0, 2), (2, 5), (4, 7)]  # a special token, then three pieces
    sums = pool(hidden, offsets, [(0, 5), (5, 7), (0, 7)])
    assert sums.tolist() == [
        (hidden[1] + hidden[2]).tolist(),  # (4, 7) straddles the boundary: in neither
        [0.0, 0.0, 0.0],
        (hidden[1] + hidden[2] + hidden[3]).tolist(),
    ]
    assert pool(hidden, offsets, []).shape == (0, 3)


def test_pack_round_trips_in_int8_with_a_scale_per_sentence() -> None:
    states = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32) * 40
    states[1] *= 1e-3  # a quiet sentence keeps its own precision
    blob = pack(states)
    assert blob is not None and len(blob) == 3 * (8 + 4)
    back = unpack(blob, 8, 3)
    assert back is not None
    for got, want in zip(back, states, strict=True):
        assert np.abs(got - want).max() <= np.abs(want).max() / 254 + 1e-9
    assert unpack(blob, 8, 4) is None  # another sentence count: not this chunk's states
    assert unpack(None, 8, 3) is None
    zero = unpack(pack(np.zeros((2, 8), np.float32)), 8, 2)
    assert zero is not None and not zero.any()
    assert pack(np.array([[np.inf, 1.0]], np.float32)) is None
    assert pack(np.ones((MAX_BYTES // 8 + 1, 4), np.float32)) is None  # too large


def test_hashing_embedder_states_are_per_sentence_sums() -> None:
    embedder = HashingEmbedder(32)
    assert has_sentence_states(embedder)
    bounds = [[(0, 7), (7, 16)]]
    vectors, states = encode_with_states(embedder, [TEXT], bounds, 8)
    assert states is not None and states[0].shape == (2, 32)
    assert np.allclose(states[0][0], embedder._one(TEXT[0:7]) * 7)
    assert np.allclose(vectors, embedder.encode_passages([TEXT]))


def test_an_embedder_without_states_still_encodes() -> None:
    class Plain:
        name, dim = "plain", 4

        def encode_queries(self, texts: list[str]) -> np.ndarray:
            return np.ones((len(texts), 4), np.float32) / 2

        def encode_passages(
            self, texts: list[str], batch_size: int = 32, show_progress: bool = False
        ) -> np.ndarray:
            return np.ones((len(texts), 4), np.float32) / 2

    vectors, states = encode_with_states(Plain(), ["一句。"], [[(0, 3)]], 8)
    assert states is None and vectors.shape == (1, 4)
    assert not has_sentence_states(Plain())


def test_an_encoder_that_cannot_pool_states_encodes_once() -> None:
    """sentence-transformers under torch: the passages are encoded once, without states."""
    from wenda.index.embedding.st_model import SentenceTransformerEmbedder

    calls: list[int] = []

    class TorchLike:
        def encode(
            self, texts: list[str], prompt: str, batch_size: int, show_progress: bool
        ) -> np.ndarray:
            calls.append(len(texts))
            return np.ones((len(texts), 4), np.float32) / 2

    embedder = SentenceTransformerEmbedder(TorchLike(), "torch-like", 4, "query: ", "passage: ")
    assert not has_sentence_states(embedder)
    vectors, states = encode_with_states(embedder, ["一句。", "两句。"], [[(0, 3)], [(0, 3)]], 8)
    assert states is None and vectors.shape == (2, 4) and calls == [2]


@pytest.mark.model
def test_default_encoder_states_are_its_token_states_pooled_per_sentence() -> None:
    """Batched with texts of other lengths (padding), the states equal the sums of the
    states of one unpadded pass, and the vectors equal ``encode``'s."""
    from wenda.index.embedding.st_model import _default_onnx
    from wenda.index.settings import Settings

    encoder, _ = _default_onnx(Settings(_env_file=None).model_cache_dir)
    prompt = "passage: "
    texts = [TEXT, "短句。", TEXT * 3]
    bounds = [[(0, 7), (7, 16), (16, len(TEXT))], [(0, 3)], [(0, 7), (len(TEXT), len(TEXT) + 7)]]
    vectors, states = encoder.encode_with_states(texts, prompt, bounds, batch_size=2)
    assert np.allclose(vectors, encoder.encode(texts, prompt), atol=1e-5)
    enc = encoder.tokenizer.encode(prompt + TEXT)
    ids = np.array([enc.ids], np.int64)
    hidden = encoder.session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
    shifted = [(a + len(prompt), b + len(prompt)) for a, b in bounds[0]]
    expected = pool(hidden[0][0], enc.offsets, shifted)
    assert np.allclose(states[0], expected, rtol=1e-3, atol=1e-3)
    # the two copies of one sentence in the long text are alike, not identical (context)
    first, second = states[2]
    cos = float(first @ second / np.linalg.norm(first) / np.linalg.norm(second))
    assert 0.8 < cos < 0.9999
