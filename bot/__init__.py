"""Telegram adapter: ask Wenda in Telegram, get a cited answer.

``import bot`` stays light (the ``wenda`` CLI imports ``wenda.bot.cli`` for every command);
python-telegram-bot is loaded only when :func:`build_application` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wenda.bot.app import build_application

__all__ = ["build_application"]


def __getattr__(name: str) -> Any:
    if name == "build_application":
        from wenda.bot.app import build_application

        return build_application
    raise AttributeError(f"module 'bot' has no attribute {name!r}")
