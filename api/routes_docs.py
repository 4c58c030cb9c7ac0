"""``/documents``: what is indexed, and the cleaned text a citation points into.

Citations carry ``doc_id`` and character offsets; ``GET /documents/{doc_id}?start=&end=``
returns exactly that span, so a reader (or the web page) can show a passage in context.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from wenda.api.errors import ApiError
from wenda.api.schemas import DocumentList, DocumentText, ErrorResponse
from wenda.api.state import Core, CoreDep

router = APIRouter(tags=["documents"])


@router.get("/documents", response_model=DocumentList, summary="List indexed documents")
async def list_documents(core: CoreDep) -> dict[str, Any]:
    """Every indexed document with its title, chunk count, content hash and indexing time."""

    def collect() -> dict[str, Any]:
        docs = core.documents()
        return {
            "index_version": core.version,
            "documents": [
                {
                    "doc_id": d.doc_id,
                    "title": d.title,
                    "chunks": d.chunks,
                    "content_hash": d.content_hash,
                    "indexed_at": d.indexed_at,
                    "chars": d.chars,
                    "ocr": d.ocr,
                }
                for d in docs
            ],
        }

    return await run_in_threadpool(collect)


def _document_span(core: Core, doc_id: str, start: int | None, end: int | None) -> dict[str, Any]:
    """Look the id up in the index listing first, so no id ever reaches a file path unchecked."""
    info = next((d for d in core.documents() if d.doc_id == doc_id), None)
    if info is None:
        raise ApiError(
            404,
            "document_not_found",
            f"找不到文档：{doc_id}。 No indexed document with id {doc_id!r}.",
        )
    text = core.document_text(doc_id, start, end)
    begin = start or 0
    return {
        "doc_id": doc_id,
        "title": info.title,
        "start": begin,
        "end": begin + len(text),
        "chars": info.chars,
        "text": text,
    }


@router.get(
    "/documents/{doc_id:path}",
    response_model=DocumentText,
    summary="Cleaned text of a document, or a span of it",
    responses={
        404: {"model": ErrorResponse, "description": "Unknown document id."},
        422: {"model": ErrorResponse, "description": "Span outside the document or reversed."},
    },
)
async def get_document(
    doc_id: str,
    core: CoreDep,
    start: Annotated[int | None, Query(ge=0, description="Span start offset.")] = None,
    end: Annotated[int | None, Query(ge=0, description="Span end offset (exclusive).")] = None,
) -> dict[str, Any]:
    """``doc_id`` is the path relative to the corpus directory; it may contain '/' and Chinese."""
    return await run_in_threadpool(_document_span, core, doc_id, start, end)
