"""Pydantic models for every request and response, so /openapi.json documents the real shapes.

The answer models mirror ``wenda.index.models.Answer.to_dict()`` field for field; the API only adds
``took_ms`` and ``index_version``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

TOP_K_MIN = 1
TOP_K_MAX = 20
TOP_K_DEFAULT = 5


def not_blank(value: str) -> str:
    """Reject whitespace-only questions in the schema so GET and POST fail the same way."""
    if not value.strip():
        raise ValueError("问题不能为空。 The question must not be empty or whitespace only.")
    return value


Question = Annotated[
    str,
    Field(
        min_length=1,
        description=(
            "The question, in any language (the corpus is Chinese). Must contain a "
            "non-whitespace character and at most WENDA_MAX_QUESTION_CHARS characters "
            "(default 500)."
        ),
        examples=["川渝高校共建了几个协同创新中心？"],
    ),
    AfterValidator(not_blank),
]


def whole_number(value: Any) -> Any:
    """JSON Schema counts 10.0 as an integer (Python's ``json.dumps(10.0)`` sends it), so a
    whole float becomes the int; 2.5, "5" and true still fail strict validation."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


TopK = Annotated[
    int,
    Field(
        ge=TOP_K_MIN,
        le=TOP_K_MAX,
        description=f"How many passages to return ({TOP_K_MIN}–{TOP_K_MAX}).",
    ),
    BeforeValidator(whole_number),
]


class AskRequest(BaseModel):
    """Body of ``POST /ask``. Strict types: ``"5"`` is not an integer, ``123`` is not text."""

    model_config = ConfigDict(extra="ignore", strict=True)

    question: Question
    top_k: TopK = TOP_K_DEFAULT


class PassageOut(BaseModel):
    """One cited passage. Offsets index the document's cleaned text (see /documents)."""

    n: int = Field(description="Citation number, as in the [n] markers (1-based).")
    doc_id: str = Field(description="Document id: path relative to the corpus directory.")
    title: str
    section: str = Field(description="Heading of the section the passage lies in ('' if none).")
    start: int = Field(description="Start offset of the passage in the document text.")
    end: int = Field(description="End offset (exclusive) of the passage in the document text.")
    score: float = Field(description="Retrieval score (higher is better; not a probability).")
    text: str = Field(description="The passage text: document text[start:end].")
    answer_start: int | None = Field(
        default=None, description="Start offset of the answer sentence, when it lies here."
    )
    answer_end: int | None = Field(
        default=None, description="End offset (exclusive) of the answer sentence."
    )
    page: int | None = Field(
        default=None, description="1-based PDF page where the passage starts (null otherwise)."
    )


class AskResponse(BaseModel):
    """The core's answer object, unchanged, plus timing and the index version that served it."""

    question: str
    answerable: bool = Field(description="False when the corpus holds no supported answer.")
    answer: str = Field(description="The answer text ('' or a notice when not answerable).")
    reason: str | None = Field(
        default=None,
        description="When not answerable: one short Chinese sentence saying why, e.g. "
        "资料中没有找到“票价”的相关内容。",
    )
    missing: list[str] = Field(
        default_factory=list,
        description="When not answerable: question terms or the answer type (金额, 人名…) "
        "that the closest passages lack; may be empty.",
    )
    passages: list[PassageOut] = Field(
        description="Cited passages when answerable; the closest passages otherwise."
    )
    took_ms: float = Field(description="Time the core spent answering, in milliseconds.")
    index_version: str = Field(description="Version of the index snapshot that answered.")


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable machine-readable error code.", examples=["invalid_top_k"])
    message: str = Field(description="Plain words, Chinese first, then English.")
    details: list[dict[str, Any]] | None = Field(
        default=None, description="Validation errors (loc, type, msg) when the input was invalid."
    )
    job_id: str | None = Field(default=None, description="The running reindex job (409 only).")


class ErrorResponse(BaseModel):
    """Every non-2xx response body has this shape."""

    error: ErrorInfo


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    version: str = Field(description="Index version currently served.")
    documents: int
    chunks: int
    model: str = Field(description="Embedding model name.")
    dim: int = Field(description="Embedding dimension.")
    dense_index: str = Field(description="'flat' (exact) or 'hnsw' (approximate).")
    sentence_states: bool = Field(
        default=False,
        description="Chunks carry late-chunked sentence states (the answer model's 'late' "
        "variant); false for an index built before them: run `wenda index`.",
    )
    degraded: str | None = Field(
        default=None,
        description="Why an older version serves (the newest is damaged, CURRENT invalid).",
    )
    watch: dict[str, Any] | None = Field(
        default=None,
        description="WENDA_WATCH=1: automatic rebuilds (count, failures, last build); else null.",
    )


class NotReady(ErrorResponse):
    """503 body of /readyz: the usual error object plus the loading state."""

    status: Literal["loading", "failed"]


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    chunks: int
    content_hash: str = Field(description="sha256 of the raw file bytes.")
    indexed_at: str = Field(description="ISO 8601 time (UTC) the document was indexed.")
    chars: int = Field(description="Length of the cleaned text.")
    ocr: bool = Field(default=False, description="Some of the text was recognised by OCR.")


class DocumentList(BaseModel):
    index_version: str
    documents: list[DocumentOut]


class DocumentText(BaseModel):
    doc_id: str
    title: str
    start: int = Field(description="Start offset of ``text`` in the cleaned document text.")
    end: int = Field(description="End offset (exclusive) of ``text``.")
    chars: int = Field(description="Length of the whole cleaned document text.")
    text: str


class SkippedFile(BaseModel):
    path: str
    reason: str


class BuildReportOut(BaseModel):
    """Mirror of ``wenda.index.models.BuildReport.to_dict()``."""

    version: str
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: list[str]
    skipped: list[SkippedFile]
    chunks_total: int
    chunks_embedded: int
    full_rebuild: bool
    published: bool = Field(description="False when nothing changed and the version was kept.")
    seconds: float


JobStatus = Literal["queued", "running", "succeeded", "failed"]


class JobOut(BaseModel):
    job_id: str
    status: JobStatus
    stage: str | None = Field(
        default=None, description="Current build stage: scan, load, embed, write or publish."
    )
    done: int = Field(default=0, description="Items done in the current stage.")
    total: int = Field(default=0, description="Items in the current stage.")
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    report: BuildReportOut | None = Field(default=None, description="Set when succeeded.")
    error: str | None = Field(default=None, description="Set when failed.")
