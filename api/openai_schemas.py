"""Request and response models of the OpenAI-compatible endpoints (``/v1/...``).

Only the fields Wenda uses are modelled; everything else an OpenAI client sends
(``temperature``, ``max_tokens``, ``user``, ...) is accepted and ignored, because chat
front-ends send them by default. Responses follow OpenAI's shapes, plus one extra field,
``wenda``, with the structured answer (passages with offsets, answerability, index version).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from wenda.api.schemas import TOP_K_DEFAULT, PassageOut, TopK

MODEL_ID = "wenda"
"""The one model (knowledge base) served for now."""

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ContentPart(BaseModel):
    """One part of a multi-part message; only ``text`` parts carry a question."""

    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Role
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message as plain text (text parts joined; images and audio dropped)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content if p.type == "text")


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = Field(
        default=False, description="Send a last chunk with `usage` and no choices."
    )


class ChatCompletionRequest(BaseModel):
    """Body of ``POST /v1/chat/completions``. The last user message is the question;
    earlier user messages resolve follow-ups such as "那重庆呢？"."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "model": MODEL_ID,
                    "messages": [{"role": "user", "content": "川渝高校共建了几个协同创新中心？"}],
                }
            ]
        },
    )

    model: str = Field(default=MODEL_ID, description="Knowledge base to ask: 'wenda'.")
    messages: list[ChatMessage] = Field(
        min_length=1, description="The conversation so far; it must contain a user message."
    )
    stream: bool = Field(default=False, description="Server-sent events in OpenAI chunk format.")
    stream_options: StreamOptions | None = None
    top_k: TopK = Field(default=TOP_K_DEFAULT, description="Wenda extension: passages returned.")


class WendaExtra(BaseModel):
    """The structured answer behind the assistant message (Wenda's own extension field)."""

    question: str = Field(description="The question as asked (the last user message).")
    resolved_question: str = Field(
        description="The stand-alone question actually answered (follow-ups resolved)."
    )
    answerable: bool
    reason: str | None = Field(default=None, description="Why it was refused, when known.")
    missing: list[str] = Field(
        default_factory=list, description="Question terms the documents lack (refusals)."
    )
    passages: list[PassageOut]
    index_version: str
    took_ms: float


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Usage(BaseModel):
    """Sizes in jieba words (Wenda runs no language model, so there are no model tokens):
    clients that track usage get consistent figures instead of a missing field."""

    prompt_tokens: int = Field(description="Words of the messages' text.")
    completion_tokens: int = Field(description="Words of the assistant message.")
    total_tokens: int


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    wenda: WendaExtra


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    """One ``data:`` event of a stream; the stop chunk has ``finish_reason`` and ``wenda``;
    with ``stream_options.include_usage`` one more follows, with no choices and ``usage``."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None  # only on the extra last chunk of stream_options.include_usage
    wenda: WendaExtra | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "wenda"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class OpenAIErrorInfo(BaseModel):
    message: str = Field(description="Plain words, Chinese first, then English.")
    type: str = Field(description="OpenAI error type, e.g. invalid_request_error.")
    param: str | None = None
    code: str | None = Field(default=None, description="Wenda's stable error code.")


class OpenAIErrorResponse(BaseModel):
    """OpenAI's error shape (also carries Wenda's ``code``), so OpenAI SDKs raise properly."""

    error: OpenAIErrorInfo


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
