"""Settings of the HTTP adapter: the core's settings plus what only a web server needs.

The core ``Settings`` knows nothing of hosts, ports or tokens; ``ApiSettings`` extends it with
the ``WENDA_*`` fields that ``wenda serve`` and ``create_app`` use, so one object is still
created at the entry point and passed down.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode
from wenda.index.settings import Settings


class ApiSettings(Settings):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    admin_token: str | None = Field(
        default=None, description="Bearer token for POST /reindex (unset = endpoint disabled)."
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    request_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A connection must deliver a whole request (headers + body) this fast.",
    )
    max_connections: int = Field(
        default=1000, ge=1, description="Open connections beyond this are closed at once."
    )
    rate_limit_per_minute: int | None = Field(
        default=None,
        ge=0,
        description="Requests per client and minute on /ask and /v1/* (unset or 0 = no limit).",
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Bearer tokens required on /ask and /v1/* (comma-separated; empty = open).",
    )

    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Browser origins allowed to call the API from their own pages (CORS), e.g. a web "
            "chat client on another host (comma-separated; empty = none; * = any)."
        ),
    )

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        """Accept "k1,k2" (the natural way to write a list in an env var) as well as a list."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
