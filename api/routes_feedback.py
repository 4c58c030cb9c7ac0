"""``POST /feedback`` (👍/👎 on an answer) and ``POST /followup`` (resolve a follow-up).

The web page keeps its own conversation: before asking, it sends the earlier questions and
the new one to ``/followup`` and asks the stand-alone form it gets back. Votes go to the
feedback store next to the index versions. The page does not know chunk ids (they are not
part of the public answer), so the server asks the question again and keeps the cited ids
only when that reproduces the answer the user saw; otherwise the vote is kept without them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import AfterValidator, BaseModel, Field
from starlette.concurrency import run_in_threadpool
from wenda.api.errors import ApiError
from wenda.api.limits import Utf8JsonRoute
from wenda.api.schemas import ErrorResponse, not_blank
from wenda.api.state import CoreDep
from wenda.index.feedback import FeedbackStore, InvalidFeedbackError, cited_chunk_ids
from wenda.index.query.followup import resolve_followup
from wenda.index.store.lexical import ChineseTokenizer

router = APIRouter(route_class=Utf8JsonRoute, tags=["conversation"])

MAX_QUESTION = 500
MAX_HISTORY = 20

Question = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION), AfterValidator(not_blank)]

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Body is not valid UTF-8 JSON."},
    401: {"model": ErrorResponse, "description": "Missing or wrong API key (WENDA_API_KEYS)."},
    413: {"model": ErrorResponse, "description": "Body larger than WENDA_MAX_BODY_BYTES."},
    422: {"model": ErrorResponse, "description": "Missing or invalid field."},
    429: {"model": ErrorResponse, "description": "Rate limit exceeded; see Retry-After."},
    503: {"model": ErrorResponse, "description": "The index is still loading."},
}


class FeedbackRequest(BaseModel):
    vote: Literal["up", "down"] = Field(description="👍 = up, 👎 = down.")
    question: Question = Field(description="The question that was asked (stand-alone form).")
    asked: str | None = Field(
        default=None, max_length=MAX_QUESTION, description="What the user typed, if different."
    )
    answer: str = Field(default="", max_length=20_000, description="The answer that was shown.")


class FeedbackResponse(BaseModel):
    id: int
    vote: str
    created_at: str


class FollowupRequest(BaseModel):
    history: list[Annotated[str, Field(max_length=MAX_QUESTION)]] = Field(
        default_factory=list,
        max_length=MAX_HISTORY,
        description="Earlier questions of this conversation, oldest first.",
    )
    question: Question


class FollowupResponse(BaseModel):
    question: str = Field(description="The stand-alone question to ask.")
    rewritten: bool = Field(description="False when the question already stood on its own.")


def _store(request: Request) -> FeedbackStore:
    store = getattr(request.app.state, "feedback", None)
    if store is None:
        store = FeedbackStore.in_index_dir(request.app.state.wenda.settings.index_dir)
        request.app.state.feedback = store
    return store


def _tokenizer(request: Request) -> ChineseTokenizer:
    tok = getattr(request.app.state, "followup_tokenizer", None)
    if tok is None:
        tok = request.app.state.followup_tokenizer = ChineseTokenizer()
    return tok


@router.post(
    "/feedback",
    response_model=FeedbackResponse,
    status_code=201,
    responses=ERRORS,
    summary="Vote 👍/👎 on an answer",
)
async def post_feedback(body: FeedbackRequest, request: Request, core: CoreDep) -> Any:
    """Store a vote with the question, the answer, its cited chunks and the index version."""
    again = await run_in_threadpool(core.ask, body.question)
    same = again.answer == body.answer
    store = await run_in_threadpool(_store, request)
    try:
        record = await run_in_threadpool(
            lambda: store.add(
                body.vote,
                question=body.asked or body.question,
                answer=body.answer,
                chunk_ids=cited_chunk_ids(again) if same else [],
                index_version=again.index_version if same else "",
                source="web",
                resolved_question=again.question,
                answerable=again.answerable if same else None,
            )
        )
    except InvalidFeedbackError as exc:
        raise ApiError(422, "invalid_feedback", exc.message) from exc
    return FeedbackResponse(id=record.id, vote=record.vote, created_at=record.created_at)


@router.post(
    "/followup",
    response_model=FollowupResponse,
    responses=ERRORS,
    summary="Resolve a follow-up question against the earlier ones",
)
async def post_followup(body: FollowupRequest, request: Request) -> FollowupResponse:
    """Turn "那重庆呢？" after a question about 川渝 into the same question about 重庆."""
    tok = _tokenizer(request)
    resolved = await run_in_threadpool(resolve_followup, body.history, body.question, tok)
    return FollowupResponse(question=resolved, rewritten=resolved != body.question)
