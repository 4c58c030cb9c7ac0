"""Domain errors raised by the core; the CLI, API and bot translate them at their edges."""

from __future__ import annotations


class WendaError(Exception):
    """Base class. ``message`` is user-facing (Chinese first, English for developers)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidQuestionError(WendaError):
    """The question is empty, whitespace-only or too long."""


class IndexNotReadyError(WendaError):
    """No published index exists yet (run ``wenda index``)."""


class DocumentNotFoundError(WendaError):
    """A document id that the index does not know."""


class InvalidSpanError(WendaError):
    """A requested character span lies outside the document."""


class BuildInProgressError(WendaError):
    """Another process or thread is already building the index."""


class ModelLoadError(WendaError):
    """The embedding model could not be loaded or converted."""


class UnreadableDocumentError(WendaError):
    """A file that cannot become a document (binary, empty, corrupt, too big, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IndexDamagedError(IndexNotReadyError):
    """An index version that is missing, incomplete or fails its integrity checks."""

    def __init__(self, version: str, reason: str) -> None:
        super().__init__(f"索引版本 {version} 已损坏：{reason} (index version {version} is damaged)")
        self.version = version
        self.reason = reason
