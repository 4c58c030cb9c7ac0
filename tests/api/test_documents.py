"""/documents: listing, full text, spans (citations link to their context), bad ids and spans."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import NESTED_DOC_ID, SEED_CORPUS
from tests.api.test_bad_input import assert_error


def doc_url(doc_id: str) -> str:
    return "/documents/" + quote(doc_id, safe="/")


def test_list_documents(client: TestClient, shared_core: Any) -> None:
    response = client.get("/documents")
    assert response.status_code == 200
    data = response.json()
    assert data["index_version"] == shared_core.version
    ids = {d["doc_id"] for d in data["documents"]}
    assert ids == {p.name for p in SEED_CORPUS.glob("*.txt")} | {NESTED_DOC_ID}
    for doc in data["documents"]:
        keys = {"doc_id", "title", "chunks", "content_hash", "indexed_at", "chars", "ocr"}
        assert set(doc) == keys
        assert doc["ocr"] is False  # plain text documents; OCR is covered in tests/index
        assert doc["title"] and doc["chunks"] > 0 and doc["chars"] > 0
        assert re.fullmatch(r"[0-9a-f]{64}", doc["content_hash"])
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d", doc["indexed_at"])


def test_full_text_and_span(client: TestClient, shared_core: Any) -> None:
    full = client.get(doc_url(NESTED_DOC_ID))
    assert full.status_code == 200, full.text
    data = full.json()
    assert data["doc_id"] == NESTED_DOC_ID
    assert data["text"] == shared_core.document_text(NESTED_DOC_ID)
    assert (data["start"], data["end"], data["chars"]) == (0, len(data["text"]), len(data["text"]))
    span = client.get(doc_url(NESTED_DOC_ID), params={"start": 5, "end": 12}).json()
    assert span["text"] == data["text"][5:12]
    assert (span["start"], span["end"]) == (5, 12)
    tail = client.get(doc_url(NESTED_DOC_ID), params={"start": 10}).json()
    assert tail["text"] == data["text"][10:]


def test_every_cited_passage_links_to_its_exact_context(client: TestClient) -> None:
    answer = client.post("/ask", json={"question": "云杉镇图书馆有多少藏书？", "top_k": 8}).json()
    assert any(p["doc_id"] == NESTED_DOC_ID for p in answer["passages"])
    for p in answer["passages"]:
        response = client.get(doc_url(p["doc_id"]), params={"start": p["start"], "end": p["end"]})
        assert response.status_code == 200, response.text
        assert response.json()["text"] == p["text"]


def test_unknown_document_is_404(client: TestClient) -> None:
    assert_error(client.get(doc_url("没有这个文件.txt")), 404, "document_not_found")
    assert_error(client.get("/documents/..%2F..%2Fetc%2Fpasswd"), 404, "document_not_found")
    assert_error(client.get(doc_url("专题")), 404, "document_not_found")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"start": 10, "end": 5}, "invalid_span"),
        ({"start": 0, "end": 10**9}, "invalid_span"),
        ({"start": 10**9}, "invalid_span"),
        ({"start": -1}, "out_of_range"),
        ({"end": "x"}, "wrong_type"),
    ],
)
def test_bad_span_is_422(client: TestClient, params: dict[str, Any], code: str) -> None:
    assert_error(client.get(doc_url(NESTED_DOC_ID), params=params), 422, code)
