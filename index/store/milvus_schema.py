"""Collections of one Milvus index version, and how chunks and documents map onto rows.

A version ``V`` is three collections, named from a prefix (``WENDA_MILVUS_COLLECTION_PREFIX``):

- ``{prefix}_chunks_V``: one row per chunk (primary key = the stable chunk id), its text,
  its dense vector (inner product) and its jieba tokens, from which Milvus' BM25 function
  derives a sparse vector server-side;
- ``{prefix}_docs_V``: document records (cleaned text and sections, split into pieces that
  fit a VARCHAR field) and the per-document manifest entries;
- ``{prefix}_terms_V``: document frequency per token, for the answer scorer's IDF.

The alias ``{prefix}_current`` names the chunks collection of the current version; the
manifest and the published history are properties of that collection, so switching the
alias switches all of them at once.

The text Milvus analyzes is the core's own jieba tokens (``ChineseTokenizer``), made of word
characters only and joined by spaces, so a whitespace analyzer (a Milvus server) and
Milvus Lite's ``standard`` analyzer split it identically, and both split it exactly as the
local store's BM25 does.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from pymilvus import DataType, Function, FunctionType, MilvusClient
from wenda.index.models import Chunk, Section
from wenda.index.store.base import StoredDocument

KINDS = ("chunks", "docs", "terms")
ALIAS_SUFFIX = "current"
MANIFEST_PROPERTY = "wenda.manifest"
HISTORY_PROPERTY = "wenda.history"
VERSION_PATTERN = re.compile(r"^v\d{8}T\d{12}Z$")
PREFIX_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,120}$")
VARCHAR_MAX = 65535  # Milvus' VARCHAR limit (bytes)
STATES_FIELD = "states"
"""Sentence states (base64 of ``Chunk.states``); collections written before them lack the
field, so it is read and copied only when the version's manifest says it has them."""
PIECE_CHARS = 16000  # 16,000 characters of UTF-8 JSON never exceed 64,000 bytes
TERM_MAX_CHARS = 120
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}  # bm25s' defaults, as in the local store
# A server knows "whitespace"; Milvus Lite 3.2 only "standard" (\w+), equal on our tokens.
ANALYZERS: tuple[dict[str, Any], ...] = ({"tokenizer": "whitespace"}, {"tokenizer": "standard"})
_NON_WORD = re.compile(r"\W", re.UNICODE)
_DUMMY = [0.0, 0.0]  # Milvus needs a vector field in every collection


def collection_name(prefix: str, kind: str, version: str) -> str:
    return f"{prefix}_{kind}_{version}"


def alias_name(prefix: str) -> str:
    return f"{prefix}_{ALIAS_SUFFIX}"


def parse_collection(prefix: str, name: str) -> tuple[str, str] | None:
    """``(kind, version)`` of one of our collections, or None for anything else."""
    for kind in KINDS:
        head = f"{prefix}_{kind}_"
        if name.startswith(head) and VERSION_PATTERN.match(name[len(head) :]):
            return kind, name[len(head) :]
    return None


def encode_token(token: str) -> str:
    """A token as the analyzer sees it: word characters only (``3.5`` → ``3_5``)."""
    return _NON_WORD.sub("_", token)[:TERM_MAX_CHARS]


def analyzed_text(tokens: Sequence[str]) -> str:
    """The space-joined tokens of one chunk, cut to fit the VARCHAR field."""
    text = " ".join(encode_token(t) for t in tokens)
    while len(text.encode("utf-8")) > VARCHAR_MAX:
        text = text[: int(len(text) * 0.9)].rsplit(" ", 1)[0]
    return text


def filter_equals(field: str, value: str) -> str:
    """A filter expression comparing a VARCHAR field with a literal, safely quoted."""
    return f"{field} == {json.dumps(value, ensure_ascii=False)}"


# --- schemas -----------------------------------------------------------------------------
def create_chunks_collection(
    client: MilvusClient, name: str, dim: int, analyzer: dict[str, Any], timeout: float
) -> None:
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field("title", DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field("section", DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    schema.add_field("page", DataType.INT64, nullable=True)
    schema.add_field("text", DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field(
        "tokens",
        DataType.VARCHAR,
        max_length=VARCHAR_MAX,
        enable_analyzer=True,
        analyzer_params=analyzer,
    )
    schema.add_field(STATES_FIELD, DataType.VARCHAR, max_length=VARCHAR_MAX, nullable=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["tokens"],
            output_field_names=["sparse"],
        )
    )
    client.create_collection(name, schema=schema, timeout=timeout, consistency_level="Strong")


def create_docs_collection(client: MilvusClient, name: str, timeout: float) -> None:
    schema = client.create_schema(auto_id=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=VARCHAR_MAX)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field("piece", DataType.INT64)
    schema.add_field("data", DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field("title", DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field("content_hash", DataType.VARCHAR, max_length=256)
    schema.add_field("indexed_at", DataType.VARCHAR, max_length=64)
    schema.add_field("chunks", DataType.INT64)
    schema.add_field("chars", DataType.INT64)
    schema.add_field("ocr", DataType.BOOL)
    schema.add_field("_v", DataType.FLOAT_VECTOR, dim=len(_DUMMY))
    client.create_collection(name, schema=schema, timeout=timeout, consistency_level="Strong")


def create_terms_collection(client: MilvusClient, name: str, timeout: float) -> None:
    schema = client.create_schema(auto_id=False)
    schema.add_field("term", DataType.VARCHAR, is_primary=True, max_length=4 * TERM_MAX_CHARS)
    schema.add_field("df", DataType.INT64)
    schema.add_field("_v", DataType.FLOAT_VECTOR, dim=len(_DUMMY))
    client.create_collection(name, schema=schema, timeout=timeout, consistency_level="Strong")


def index_version(
    client: MilvusClient, names: dict[str, str], dense: dict[str, Any], timeout: float
) -> None:
    """Indexes are built once all rows are in (``dense``: index_type and params); loading
    the collections afterwards waits for them."""
    params = client.prepare_index_params()
    params.add_index(field_name="vector", metric_type="IP", **dense)
    params.add_index(
        field_name="sparse",
        index_type="SPARSE_INVERTED_INDEX",
        metric_type="BM25",
        params=BM25_PARAMS,
    )
    client.create_index(names["chunks"], params, timeout=timeout, sync=False)
    for kind in ("docs", "terms"):
        dummy = client.prepare_index_params()
        dummy.add_index(field_name="_v", index_type="FLAT", metric_type="L2")
        client.create_index(names[kind], dummy, timeout=timeout, sync=False)


# --- rows --------------------------------------------------------------------------------
def chunk_row(chunk_id: int, chunk: Chunk, vector: list[float], tokens: str) -> dict[str, Any]:
    return {
        "id": chunk_id,
        "doc_id": chunk.doc_id,
        "title": chunk.title,
        "section": chunk.section,
        "start": chunk.start,
        "end": chunk.end,
        "page": getattr(chunk, "page", None),
        "text": chunk.text,
        "tokens": tokens,
        STATES_FIELD: None if chunk.states is None else base64.b64encode(chunk.states).decode(),
        "vector": vector,
    }


CHUNK_FIELDS = ["id", "doc_id", "title", "section", "start", "end", "page", "text"]


def chunk_from_row(row: dict[str, Any]) -> Chunk:
    values = {k: row[k] for k in ("doc_id", "title", "section", "text")}
    values.update(start=int(row["start"]), end=int(row["end"]))
    if "page" in {f.name for f in fields(Chunk)}:  # models.Chunk gains ``page`` (PDF pages)
        values["page"] = None if row.get("page") is None else int(row["page"])
    states = row.get(STATES_FIELD)
    return Chunk(**values, states=base64.b64decode(states) if states else None)


DOC_META_FIELDS = ["doc_id", "title", "content_hash", "indexed_at", "chunks", "chars", "ocr"]


def document_rows(doc: StoredDocument, chunk_count: int) -> list[dict[str, Any]]:
    """One document as rows of pieces; the first piece also carries the manifest entry."""
    payload = json.dumps(
        {"text": doc.text, "sections": [[s.title, s.start, s.end] for s in doc.sections]},
        ensure_ascii=False,
    )
    pieces = [payload[i : i + PIECE_CHARS] for i in range(0, len(payload), PIECE_CHARS)]
    rows = []
    for i, piece in enumerate(pieces):
        first = i == 0
        rows.append(
            {
                "key": f"{i}:{doc.doc_id}",
                "doc_id": doc.doc_id,
                "piece": i,
                "data": piece,
                "title": doc.title if first else "",
                "content_hash": doc.content_hash if first else "",
                "indexed_at": doc.indexed_at if first else "",
                "chunks": chunk_count if first else 0,
                "chars": len(doc.text) if first else 0,
                "ocr": bool(doc.ocr) and first,
                "_v": _DUMMY,
            }
        )
    return rows


def document_from_rows(rows: Sequence[dict[str, Any]]) -> StoredDocument:
    ordered = sorted(rows, key=lambda r: int(r["piece"]))
    payload = json.loads("".join(r["data"] for r in ordered))
    head = ordered[0]
    sections = tuple(Section(t, s, e) for t, s, e in payload["sections"])
    return StoredDocument(
        head["doc_id"],
        head["title"],
        head["content_hash"],
        payload["text"],
        sections,
        head["indexed_at"],
        ocr=bool(head.get("ocr")),
    )


def term_rows(df: dict[str, int]) -> list[dict[str, Any]]:
    return [{"term": t, "df": n, "_v": _DUMMY} for t, n in df.items()]
