"""The interface the adapters (API, bot) use, as a Protocol.

``wenda.index.core.Wenda`` implements it. Adapters type against this rather than importing the
core class, so importing ``api`` or ``bot`` stays light and tests can pass a stand-in.
"""

from __future__ import annotations

from typing import Protocol

from wenda.index.models import Answer, BuildReport, DocumentInfo, IndexStatus, Passage, Progress


class QACore(Protocol):
    @property
    def version(self) -> str: ...

    def ask(self, question: str, top_k: int | None = None) -> Answer: ...

    def status(self) -> IndexStatus: ...

    def documents(self) -> list[DocumentInfo]: ...

    def document_text(
        self, doc_id: str, start: int | None = None, end: int | None = None
    ) -> str: ...

    def passage_by_chunk_id(self, chunk_id: int) -> Passage | None: ...

    def reindex(self, progress: Progress | None = None) -> BuildReport: ...

    def refresh(self) -> bool: ...

    def close(self) -> None: ...
