"""``Wenda``: the one object the CLI, the HTTP API and the bot call.

Loaded once and reused. It holds the embedder, the store and the current index reader
(``store/base.py``); a rebuild or a version published by another process is loaded on the
side and swapped in, so requests in flight finish on the version they started with (it is
closed when the last of them ends) and no request waits for a rebuild.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import AbstractContextManager

from wenda.index.builder import build_index
from wenda.index.embedding.base import Embedder, has_sentence_states, load_embedder
from wenda.index.errors import (
    DocumentNotFoundError,
    EmptyQuestionError,
    IndexDamagedError,
    IndexNotReadyError,
    InvalidSpanError,
    QuestionTooLongError,
    TopKOutOfRangeError,
)
from wenda.index.models import (
    Answer,
    BuildReport,
    DocumentInfo,
    IndexStatus,
    Mode,
    Passage,
    Progress,
)
from wenda.index.query.pipeline import (
    Composer,
    PipelineConfig,
    PipelineResult,
    QuestionPipeline,
)
from wenda.index.settings import Settings
from wenda.index.store.base import IndexReader, Store, open_store
from wenda.index.store.lexical import ChineseTokenizer
from wenda.index.store.serving import ReaderHolder, open_serving
from wenda.index.write_errors import index_writes

log = logging.getLogger("wenda.core")


def pipeline_config(settings: Settings) -> PipelineConfig:
    """The question pipeline's few values; cosine features only for the fitted embedder."""
    return PipelineConfig(
        candidate_k=settings.candidate_k,
        rrf_k=settings.rrf_k,
        mode=settings.retrieval_mode,
        threshold=settings.answer_min_support,
        comparable_cosines=settings.is_default_model,
    )


class Wenda:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        reader: IndexReader,
        store: Store | None = None,
        degraded: str | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.tokenizer = ChineseTokenizer()
        self._store = store or open_store(settings)
        self._readers = ReaderHolder(reader)  # leases: an old version closes when unused
        self._degraded = degraded  # why an older version serves, for status() and /readyz
        self._swap_lock = threading.Lock()
        self._reload_thread: threading.Thread | None = None
        self._last_check = time.monotonic()
        self._rejected_version: str | None = None  # damaged or another model: don't retry
        self._damaged: dict[str, str] = {}  # versions that failed the check while serving
        self._closed = False
        self.pipeline = QuestionPipeline(embedder, self.tokenizer, pipeline_config(settings))
        self._verify_later(reader)

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
        store = open_store(settings)
        reader, degraded = open_serving(store)
        if reader is not None and reader.manifest.model != embedder.name:
            model = reader.manifest.model
            log.warning("index %s was built with %s, not %s", reader.version, model, embedder.name)
            reader.close()
            reader = None
            if not build_if_missing:
                raise IndexNotReadyError(
                    f"索引使用的模型不同，请重建索引 (index built with {model}; "
                    f"run `wenda index` to rebuild for {embedder.name})"
                )
        if (
            reader is not None
            and not reader.manifest.sentence_states
            and has_sentence_states(embedder)
        ):
            log.warning(
                "index %s has no sentence states (built by an older version): answers use "
                "the model without them; run `wenda index` to rebuild",
                reader.version,
            )
        if reader is None:
            if not build_if_missing:
                if degraded:
                    raise IndexNotReadyError(f"没有完好的索引版本 (no intact index): {degraded}")
                raise IndexNotReadyError("索引尚未建立，请先运行 wenda index (no index yet)")
            build_index(settings, embedder, ChineseTokenizer(), store=store)
            reader, degraded = open_serving(store)
            if reader is None:
                raise IndexNotReadyError(f"索引无法加载 (index cannot be loaded): {degraded}")
        return cls(settings, embedder, reader, store, degraded)

    def close(self) -> None:
        self._closed = True
        self.pipeline.close()
        self._readers.close()
        self._store.close()

    @property
    def version(self) -> str:
        return self._readers.current.version

    def lease(self) -> AbstractContextManager[IndexReader]:
        """The current index version, kept open until the ``with`` block ends."""
        return self._readers.lease()

    def open_readers(self) -> int:
        """Index versions held open right now (the current one + any still in use)."""
        return self._readers.open_readers()

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
        result = self.run_pipeline(question, top_k, mode)
        took = round((time.perf_counter() - started) * 1000, 2)
        return result.to_answer(took)

    def run_pipeline(
        self,
        question: str,
        top_k: int | None = None,
        mode: Mode | None = None,
        composer: Composer | None = None,
    ) -> PipelineResult:
        """One question through the pipeline, with candidates, spans and stage timings.

        ``ask`` is this plus the public answer shape; the bench and the training script
        call it to time stages or to swap the compose stage (``composer``).
        """
        text = self.validate_question(question)
        k = top_k or self.settings.top_k
        if not 1 <= k <= 100:
            raise TopKOutOfRangeError(k, 1, 100)
        self._maybe_reload()
        with self._readers.lease() as reader:  # the version stays open until this returns
            return self.pipeline.run(reader, text, k, mode, composer)

    def passage_by_chunk_id(self, chunk_id: int) -> Passage | None:
        with self._readers.lease() as reader:
            chunk = reader.chunks([chunk_id]).get(chunk_id)
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
            page=chunk.page,
        )

    # --- documents and status ------------------------------------------------------------
    def status(self) -> IndexStatus:
        manifest = self._readers.current.manifest
        return IndexStatus(
            version=self.version,
            documents=len(manifest.documents),
            chunks=manifest.chunks,
            model=manifest.model,
            dim=manifest.dim,
            dense_index=manifest.dense_index,
            degraded=self._degraded,
            sentence_states=manifest.sentence_states,
        )

    def documents(self) -> list[DocumentInfo]:
        with self._readers.lease() as reader:
            return reader.documents()

    def document_text(self, doc_id: str, start: int | None = None, end: int | None = None) -> str:
        with self._readers.lease() as reader:
            doc = reader.document(doc_id)
        if doc is None:
            raise DocumentNotFoundError(doc_id)
        lo = 0 if start is None else start
        hi = len(doc.text) if end is None else end
        if not 0 <= lo <= hi <= len(doc.text):
            raise InvalidSpanError(lo, hi, len(doc.text))
        return doc.text[lo:hi]

    # --- rebuilds and reloads ------------------------------------------------------------
    def reindex(self, progress: Progress | None = None, force_full: bool = False) -> BuildReport:
        """Incremental rebuild from the corpus, then swap the new version in.

        A full disk or read-only index folder raises ``IndexWriteError`` (this version
        keeps serving), which the API's job and the bot report as is.
        """
        with index_writes(self.settings.index_dir, lambda: self.version):
            report = build_index(
                self.settings, self.embedder, self.tokenizer, progress, force_full, self._store
            )
        self.refresh()
        return report

    def refresh(self) -> bool:
        """Load a newer published version if the current pointer moved; True when swapped.

        A damaged new version is not switched to (the serving one stays, ``degraded`` says
        why) and not retried; a pointer that names nothing keeps the serving version.
        """
        self._last_check = time.monotonic()
        with self._swap_lock:
            version = self._store.current()
            serving = self.version
            if version is None or version == serving:
                self._note_pointer(version, serving)
                return False
            if self._not_retried(version):
                return False
            try:
                fresh = self._store.open(version)
            except IndexDamagedError as exc:
                log.error(
                    "index version %s is damaged (%s); keeping %s", version, exc.reason, serving
                )
                self._degraded = (
                    f"最新版本 {version} 已损坏，继续使用 {serving} "
                    f"(newest version damaged, serving {serving}): {exc.reason}"
                )
                self._rejected_version = version
                return False
            except Exception:
                log.exception("could not load index version %s; keeping %s", version, serving)
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
            self._readers.swap(fresh)  # requests in flight finish on the old one
            self._degraded = None
            log.info("switched to index version %s", version)
        self._verify_later(fresh)
        return True

    def _verify_later(self, reader: IndexReader) -> None:
        """Run the content check that load left out (a large version's sha256s: a flipped
        byte keeps the size, and hashing 1 GB would hold the start for a second) while the
        version serves."""
        if not reader.verification_pending:
            return  # hashed at load (or nothing to hash): no thread to start
        threading.Thread(target=self._verify, args=(reader,), daemon=True).start()

    def _verify(self, reader: IndexReader) -> None:
        try:
            if reader.verify_contents():
                log.info("index version %s: every file's sha256 verified", reader.version)
        except IndexDamagedError as exc:
            self._withdraw(reader.version, exc.reason)
        except Exception:
            log.exception("could not verify index version %s", reader.version)

    def _withdraw(self, version: str, reason: str) -> None:
        """A serving version failed its deferred check: serve the newest intact other one
        (``degraded`` says why), or keep it, saying so, when there is none."""
        with self._swap_lock:
            if self._closed or self.version != version:
                return  # swapped out (or pruned) meanwhile: nothing serves from it
            self._damaged[version] = reason
            log.error("index version %s is damaged: %s", version, reason)
            fresh, degraded = open_serving(self._store, self._damaged)
            if fresh is not None and fresh.manifest.model != self.embedder.name:
                fresh.close()
                fresh = None
            if fresh is None:
                self._degraded = (
                    f"当前版本 {version} 已损坏且没有其他完好版本，仍在使用 "
                    f"(serving version damaged, no intact other): {reason}"
                )
                return
            self._readers.swap(fresh)
            self._degraded = degraded
            log.error("switched from damaged index version %s to %s", version, fresh.version)
        self._verify_later(fresh)

    def _not_retried(self, version: str) -> bool:
        """Found damaged (on load or while serving) or built with another model: tried once."""
        return version == self._rejected_version or version in self._damaged

    def _note_pointer(self, version: str | None, serving: str) -> None:
        """Say so in ``status()`` while the pointer names nothing loadable."""
        if version is None and self._store.published():
            self._degraded = (
                f"索引指针无效，继续使用 {serving} (current pointer invalid, serving {serving})"
            )
        elif version == serving and serving not in self._damaged:
            self._degraded = None  # a damaged version serving alone stays flagged

    def _maybe_reload(self) -> None:
        """Cheap pointer check; the actual load runs in the background."""
        interval = self.settings.reload_check_seconds
        if time.monotonic() - self._last_check < interval:
            return
        self._last_check = time.monotonic()
        version = self._store.current()
        if version is None or version == self.version or self._not_retried(version):
            self._note_pointer(version, self.version)
            return
        if self._reload_thread is None or not self._reload_thread.is_alive():
            self._reload_thread = threading.Thread(target=self.refresh, daemon=True)
            self._reload_thread.start()
