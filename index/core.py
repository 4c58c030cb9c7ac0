"""``Wenda``: the one object the CLI, the HTTP API and the bot call.

Loaded once and reused. It holds the embedder and the current index ``Snapshot``; a
rebuild or a version published by another process is loaded on the side and swapped in
with one reference assignment, so requests in flight finish on the snapshot they started
with and no request waits for a rebuild.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

from wenda.index.builder import Progress, build_index
from wenda.index.embedding.base import Embedder, load_embedder
from wenda.index.errors import (
    DocumentNotFoundError,
    EmptyQuestionError,
    IndexNotReadyError,
    InvalidSpanError,
    QuestionTooLongError,
    TopKOutOfRangeError,
)
from wenda.index.ingest.sentences import split_sentences
from wenda.index.models import Answer, BuildReport, DocumentInfo, IndexStatus, Passage
from wenda.index.query.answer import (
    COVERAGE_ONLY,
    DEFAULT_MODEL_ANSWERABILITY,
    Answerability,
    compose,
)
from wenda.index.query.retrieve import Mode, retrieve
from wenda.index.settings import Settings
from wenda.index.store.dense import index_kind
from wenda.index.store.lexical import ChineseTokenizer
from wenda.index.store.snapshot import Snapshot
from wenda.index.store.versions import VersionStore

log = logging.getLogger("wenda.core")


def _answerability(settings: Settings, with_cosine: bool) -> Answerability:
    """The calibrated model for the default embedder, coverage alone for any other."""
    model = DEFAULT_MODEL_ANSWERABILITY if with_cosine else COVERAGE_ONLY
    if settings.answer_min_support is not None:
        model = dataclasses.replace(model, threshold=settings.answer_min_support)
    return model


class Wenda:
    def __init__(self, settings: Settings, embedder: Embedder, snapshot: Snapshot) -> None:
        self.settings = settings
        self.embedder = embedder
        self.tokenizer = ChineseTokenizer()
        self._versions = VersionStore(settings.index_dir)
        self._snapshot = snapshot
        self._swap_lock = threading.Lock()
        self._reload_thread: threading.Thread | None = None
        self._last_check = time.monotonic()
        self._rejected_version: str | None = None  # built with another model: don't retry
        self.answerability = _answerability(settings, settings.is_default_model)
        self.coverage_answerability = _answerability(settings, False)

    # --- lifecycle -----------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        settings: Settings,
        embedder: Embedder | None = None,
        build_if_missing: bool = True,
    ) -> Wenda:
        """Load the embedder and the published index (building it first if allowed)."""
        embedder = embedder or load_embedder(settings)
        versions = VersionStore(settings.index_dir)
        version = versions.current()
        snapshot = None if version is None else Snapshot.load(versions.path(version), settings)
        if snapshot is not None and snapshot.manifest.model != embedder.name:
            log.warning(
                "index %s was built with %s, not %s",
                version,
                snapshot.manifest.model,
                embedder.name,
            )
            if not build_if_missing:
                raise IndexNotReadyError(
                    f"索引使用的模型不同，请重建索引 (index built with {snapshot.manifest.model}; "
                    f"run `wenda index` to rebuild for {embedder.name})"
                )
            snapshot = None
        if snapshot is None:
            if not build_if_missing:
                raise IndexNotReadyError("索引尚未建立，请先运行 wenda index (no index yet)")
            build_index(settings, embedder, ChineseTokenizer())
            snapshot = Snapshot.load(versions.path(versions.current() or ""), settings)
        return cls(settings, embedder, snapshot)

    def close(self) -> None:
        self._snapshot.close()

    @property
    def version(self) -> str:
        return self._snapshot.version

    # --- questions -----------------------------------------------------------------------
    def validate_question(self, question: object) -> str:
        if not isinstance(question, str) or not question.strip():
            raise EmptyQuestionError()
        text = question.strip()
        if len(text) > self.settings.max_question_chars:
            raise QuestionTooLongError(len(text), self.settings.max_question_chars)
        return text

    def ask(self, question: str, top_k: int | None = None, mode: Mode | None = None) -> Answer:
        """Answer one question with cited passages; thread-safe."""
        started = time.perf_counter()
        text = self.validate_question(question)
        k = top_k or self.settings.top_k
        if not 1 <= k <= 100:
            raise TopKOutOfRangeError(k, 1, 100)
        self._maybe_reload()
        snap = self._snapshot
        mode = mode or self.settings.retrieval_mode
        terms = self.tokenizer.query_terms(text)
        vector = None if mode == "bm25" else self.embedder.encode_queries([text])[0]
        hits = retrieve(
            snap, vector, terms, k, mode, self.settings.candidate_k, self.settings.rrf_k
        )
        by_id = snap.store.chunks([h.chunk_id for h in hits])
        chunks = [by_id[h.chunk_id] for h in hits]
        # Without a dense side there is no cosine: fall back to the coverage-only model.
        answerability = self.answerability if vector is not None else self.coverage_answerability
        out = compose(text, terms, hits, chunks, snap.lexical, split_sentences, answerability)
        return Answer(
            question=text,
            answerable=out.answerable,
            answer=out.answer,
            passages=out.passages,
            index_version=snap.version,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            support=round(out.support, 4),
            coverage=round(out.coverage, 4),
            best_cosine=out.best_cosine,
        )

    def passage_by_chunk_id(self, chunk_id: int) -> Passage | None:
        chunk = self._snapshot.store.chunks([chunk_id]).get(chunk_id)
        if chunk is None:
            return None
        return Passage(
            n=0,
            doc_id=chunk.doc_id,
            title=chunk.title,
            section=chunk.section,
            start=chunk.start,
            end=chunk.end,
            score=0.0,
            text=chunk.text,
            chunk_id=chunk_id,
        )

    # --- documents and status ------------------------------------------------------------
    def status(self) -> IndexStatus:
        snap = self._snapshot
        return IndexStatus(
            version=snap.version,
            documents=len(snap.manifest.documents),
            chunks=snap.chunk_count,
            model=snap.manifest.model,
            dim=snap.manifest.dim,
            dense_index=index_kind(snap.dense),
        )

    def documents(self) -> list[DocumentInfo]:
        return self._snapshot.store.document_infos()

    def document_text(self, doc_id: str, start: int | None = None, end: int | None = None) -> str:
        doc = self._snapshot.store.document(doc_id)
        if doc is None:
            raise DocumentNotFoundError(doc_id)
        lo = 0 if start is None else start
        hi = len(doc.text) if end is None else end
        if not 0 <= lo <= hi <= len(doc.text):
            raise InvalidSpanError(lo, hi, len(doc.text))
        return doc.text[lo:hi]

    # --- rebuilds and reloads ------------------------------------------------------------
    def reindex(self, progress: Progress | None = None, force_full: bool = False) -> BuildReport:
        """Incremental rebuild from the corpus, then swap the new version in."""
        report = build_index(self.settings, self.embedder, self.tokenizer, progress, force_full)
        self.refresh()
        return report

    def refresh(self) -> bool:
        """Load a newer published version if CURRENT moved; True when swapped."""
        self._last_check = time.monotonic()
        with self._swap_lock:
            version = self._versions.current()
            if version is None or version == self._snapshot.version:
                return False
            try:
                fresh = Snapshot.load(self._versions.path(version), self.settings)
            except Exception:
                log.exception("could not load index version %s; keeping %s", version, self.version)
                return False
            if fresh.manifest.model != self.embedder.name:
                log.error(
                    "index %s was built with %s but this process embeds with %s; not switching",
                    version,
                    fresh.manifest.model,
                    self.embedder.name,
                )
                fresh.close()
                self._rejected_version = version
                return False
            self._snapshot = fresh  # one reference assignment: atomic for readers
            log.info("switched to index version %s", version)
            return True

    def _maybe_reload(self) -> None:
        """Cheap pointer check; the actual load runs in the background."""
        interval = self.settings.reload_check_seconds
        if time.monotonic() - self._last_check < interval:
            return
        self._last_check = time.monotonic()
        if self._versions.current() in (None, self._snapshot.version, self._rejected_version):
            return
        if self._reload_thread is None or not self._reload_thread.is_alive():
            self._reload_thread = threading.Thread(target=self.refresh, daemon=True)
            self._reload_thread.start()
