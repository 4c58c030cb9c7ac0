"""Settings of the Telegram adapter: the core's settings plus the bot's own fields.

The Telegram fields keep Telegram's usual environment names (``TELEGRAM_BOT_TOKEN``, ...),
without the ``WENDA_`` prefix; the rate limit is Wenda's own (``WENDA_TELEGRAM_RATE_PER_MINUTE``).
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, field_validator
from wenda.index.settings import Settings


class BotSettings(Settings):
    telegram_bot_token: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "telegram_bot_token"),
    )
    telegram_api_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TELEGRAM_API_BASE_URL", "telegram_api_base_url"),
    )
    telegram_admin_ids: list[int] = Field(
        default_factory=list,
        validation_alias=AliasChoices("TELEGRAM_ADMIN_IDS", "telegram_admin_ids"),
    )
    telegram_rate_per_minute: int = Field(default=20, ge=1)
    telegram_read_timeout: float = Field(
        default=5.0,  # python-telegram-bot's own default
        gt=0,
        description="Seconds to wait for the Bot API's answer to a call (not getUpdates).",
    )

    @field_validator("telegram_admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept "1,2,3" (the natural way to write a list in an env var) as well as JSON."""
        if isinstance(value, int):
            return [value]
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return text
            return [int(part) for part in text.replace(";", ",").split(",") if part.strip()]
        return value
