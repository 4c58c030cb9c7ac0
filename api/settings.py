"""Settings of the HTTP adapter: the core's settings plus what only a web server needs.

The core ``Settings`` knows nothing of hosts, ports or tokens; ``ApiSettings`` extends it with
the ``WENDA_*`` fields that ``wenda serve`` and ``create_app`` use, so one object is still
created at the entry point and passed down.
"""

from __future__ import annotations

from pydantic import Field
from wenda.index.settings import Settings


class ApiSettings(Settings):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    admin_token: str | None = Field(
        default=None, description="Bearer token for POST /reindex (unset = endpoint disabled)."
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)

    @classmethod
    def from_core(cls, settings: Settings) -> ApiSettings:
        """Adapter settings with the core fields that were set explicitly (e.g. CLI flags)."""
        if isinstance(settings, cls):
            return settings
        return cls(**settings.model_dump(exclude_unset=True))
