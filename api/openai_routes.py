"""OpenAI-compatible endpoints: ``GET /v1/models`` and ``POST /v1/chat/completions``.

Chat front-ends (Open WebUI, Cherry Studio, LangBot, AstrBot, ...) and bot frameworks speak
this API, so pointing their "OpenAI base URL" at ``http://host:8000/v1`` makes Wenda a
"model" there. The assistant message is the cited answer with its ``[n]`` markers and a short
numbered source list; the structured passages travel in the extra ``wenda`` field. Errors use
OpenAI's error shape (``{"error": {"message", "type", "param", "code"}}``) so the official
SDKs raise their usual exceptions, and bad requests are always 4xx.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from wenda.api.errors import ApiError, describe_validation, domain_status
from wenda.api.limits import Utf8JsonRoute
from wenda.api.metrics import MetricsDep
from wenda.api.openai_schemas import (
    MODEL_ID,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChunkChoice,
    Delta,
    ModelCard,
    ModelList,
    OpenAIErrorResponse,
    Usage,
    WendaExtra,
)
from wenda.api.state import Core, CoreDep
from wenda.index.errors import WendaError

_CITATION = re.compile(r"\[(\d+)\]")
_PIECE = re.compile(r"[^。！？；\n]*[。！？；\n]+|[^。！？；\n]+")
SOURCES_HEADING = "来源："

_ERROR_TYPES = {401: "authentication_error", 404: "invalid_request_error", 429: "rate_limit_error"}


def openai_error(
    status: int,
    code: str,
    message: str,
    *,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


class OpenAIRoute(Utf8JsonRoute):
    """Renders every expected failure of a ``/v1`` route in OpenAI's error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = list(exc.errors())
                status, code, message = describe_validation(errors)
                loc = [str(p) for p in (errors[0].get("loc", ()) if errors else ()) if p != "body"]
                return openai_error(status, code, message, param=".".join(loc) or None)
            except ApiError as exc:
                return openai_error(exc.status, exc.code, exc.message, headers=exc.headers)
            except WendaError as exc:
                status, code = domain_status(exc)
                if status >= 500 and code == "internal_error":
                    raise  # unexpected: logged and answered by the 500 guard
                return openai_error(status, code, exc.message)
            except StarletteHTTPException as exc:  # e.g. the body-size cap's 413
                detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
                return openai_error(exc.status_code, f"http_{exc.status_code}", detail)

        return guarded


router = APIRouter(prefix="/v1", route_class=OpenAIRoute, tags=["openai"])

V1_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": OpenAIErrorResponse, "description": text}
    for code, text in {
        400: "Invalid JSON or no user message.",
        401: "Missing or wrong API key (when WENDA_API_KEYS is set).",
        404: "Unknown model.",
        413: "Body larger than WENDA_MAX_BODY_BYTES.",
        422: "Invalid field (empty messages, bad role, bad top_k, question too long).",
        429: "Rate limit (WENDA_RATE_LIMIT_PER_MINUTE) exceeded; see Retry-After.",
        503: "The index is still loading.",
    }.items()
}


# One server-sent event (OpenAPI 3.1 puts the per-event shape under ``schema``; 3.2 calls
# it ``itemSchema``): a ``data:`` line holding a ChatCompletionChunk, the last one [DONE].
SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "string",
            "description": "A chat.completion.chunk as JSON (ChatCompletionChunk); the last "
            "event's data is the literal [DONE].",
        },
        "event": {"type": "string"},
        "id": {"type": "string"},
    },
}


def _created(request: Request) -> int:
    created: int = request.app.state.openai_created
    return created


def _model_card(request: Request) -> ModelCard:
    return ModelCard(id=MODEL_ID, created=_created(request))


@router.get("/models", response_model=ModelList, responses=V1_ERRORS, summary="List models")
async def list_models(request: Request) -> ModelList:
    """One model per knowledge base; for now the single corpus, ``wenda``."""
    return ModelList(data=[_model_card(request)])


@router.get(
    "/models/{model}", response_model=ModelCard, responses=V1_ERRORS, summary="Retrieve a model"
)
async def get_model(model: str, request: Request) -> ModelCard:
    _check_model(model)
    return _model_card(request)


def _check_model(model: str) -> None:
    if model != MODEL_ID:
        raise ApiError(
            404,
            "model_not_found",
            f"没有这个模型：{model}；可用的模型：{MODEL_ID}。 "
            f"The model {model!r} does not exist; available: {MODEL_ID!r}.",
        )


def resolve_question(core: Core, users: list[str]) -> str:
    """The last user message made stand-alone against the earlier ones (follow-ups)."""
    # Imported here: jieba and the lexical stack stay out of ``import wenda.api``.
    from wenda.index.query.followup import resolve_followup
    from wenda.index.store.lexical import ChineseTokenizer

    tokenizer = getattr(core, "tokenizer", None)  # the core's own (dictionary loaded)
    own = tokenizer if isinstance(tokenizer, ChineseTokenizer) else None
    return resolve_followup(users[:-1], users[-1], own)


def count_usage(core: Core, messages: list[str], content: str) -> Usage:
    """``usage`` of a completion: the jieba words of the messages and of the reply
    (``Usage``); zeros when the core has no Chinese tokenizer."""
    from wenda.index.store.lexical import ChineseTokenizer

    tokenizer = getattr(core, "tokenizer", None)
    if not isinstance(tokenizer, ChineseTokenizer):
        return Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)
    prompt = sum(len(tokenizer.words(m)) for m in messages)
    completion = len(tokenizer.words(content))
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


def format_content(data: Mapping[str, Any]) -> str:
    """The assistant message: the answer (with its [n]), then the sources it cites."""
    answer = str(data["answer"])
    if not data["answerable"]:
        reason = data.get("reason")
        return f"{answer}\n\n{reason}" if reason and reason not in answer else answer
    passages = {int(p["n"]): p for p in data["passages"]}
    cited = [int(n) for n in dict.fromkeys(_CITATION.findall(answer)) if int(n) in passages]
    if not cited and passages:
        cited = [min(passages)]
    lines = []
    for n in cited:
        p = passages[n]
        where = f"{p['title']} · {p['section']}" if p["section"] else p["title"]
        lines.append(f"[{n}] {where}（{p['doc_id']}）")
    return f"{answer}\n\n{SOURCES_HEADING}\n" + "\n".join(lines) if lines else answer


def _extra(data: Mapping[str, Any], asked: str) -> dict[str, Any]:
    return {
        "question": asked,
        "resolved_question": data["question"],
        "answerable": data["answerable"],
        "reason": data.get("reason"),
        "missing": data.get("missing") or [],
        "passages": data["passages"],
        "index_version": data["index_version"],
        "took_ms": data["took_ms"],
    }


async def _stream(
    completion_id: str, created: int, content: str, extra: dict[str, Any], usage: Usage | None
) -> AsyncIterator[str]:
    """The OpenAI chunk sequence: role, content pieces, a final stop chunk, with ``usage``
    (``stream_options.include_usage``) a chunk without choices, then [DONE]."""

    def chunk(delta: Delta, finish: Literal["stop"] | None = None) -> str:
        body = ChatCompletionChunk(
            id=completion_id,
            created=created,
            model=MODEL_ID,
            choices=[ChunkChoice(delta=delta, finish_reason=finish)],
            wenda=WendaExtra.model_validate(extra) if finish else None,
        )
        data = body.model_dump(mode="json", exclude_none=not finish)
        data["choices"][0]["delta"] = delta.model_dump(exclude_none=True)
        data["choices"][0]["finish_reason"] = finish  # null until the last chunk, as OpenAI
        return json.dumps(data, ensure_ascii=False)

    yield chunk(Delta(role="assistant", content=""))
    for piece in _PIECE.findall(content):
        yield chunk(Delta(content=piece))
    yield chunk(Delta(), "stop")
    if usage is not None:
        last = ChatCompletionChunk(
            id=completion_id, created=created, model=MODEL_ID, choices=[], usage=usage
        )
        yield json.dumps(last.model_dump(mode="json", exclude={"wenda"}), ensure_ascii=False)
    yield "[DONE]"


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        **V1_ERRORS,
        200: {
            "description": "A chat.completion, or with stream=true an event stream of "
            "chat.completion.chunk objects (see ChatCompletionChunk) ending with `data: [DONE]`.",
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
        },
    },
    summary="Chat completion (OpenAI-compatible)",
)
async def chat_completions(
    body: ChatCompletionRequest, request: Request, core: CoreDep, metrics: MetricsDep
) -> Any:
    """Answer the last user message; earlier user messages resolve follow-up questions."""
    _check_model(body.model)
    users = [m.text() for m in body.messages if m.role == "user"]
    if not users or not users[-1].strip():
        raise ApiError(
            400,
            "no_user_message",
            "messages 里没有用户的问题（最后一条 role 为 user 的消息为空或不存在）。 "
            "No user question: the messages contain no non-empty 'user' message.",
        )
    asked = users[-1]
    # Follow-ups need the tokenizer (CPU work): only then leave the event loop for it.
    question = await run_in_threadpool(resolve_question, core, users) if users[:-1] else asked
    result = await run_in_threadpool(core.ask, question, body.top_k)
    data = result.to_dict()
    data["took_ms"] = round(float(result.took_ms), 2)
    data["index_version"] = result.index_version
    metrics.observe_answer("chat_completions", bool(data["answerable"]))
    content = format_content(data)
    texts = [m.text() for m in body.messages]
    usage = await run_in_threadpool(count_usage, core, texts, content)
    extra = _extra(data, asked)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if body.stream:
        wanted = body.stream_options is not None and body.stream_options.include_usage
        stream = _stream(completion_id, created, content, extra, usage if wanted else None)
        return EventSourceResponse(stream)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": usage.model_dump(),
        "wenda": extra,
    }


def install_openai(app: FastAPI) -> None:
    app.state.openai_created = int(time.time())
    app.include_router(router)
