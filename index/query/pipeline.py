"""The question pipeline: analyse → encode → retrieve (→ rerank) → fetch → compose.

Why: the core, the benchmarks and the evaluation scripts must run the *same* path, and the
latency bench must time its stages without re-implementing ``ask()``. One ``Candidate``
record per passage carries every score it gets (dense, lexical, fused/reranked, best
answer span); ``run`` reports how long each stage took in ``PipelineResult.timings`` (ms).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from wenda.index.embedding.base import Embedder, encode_query_beside
from wenda.index.ingest.normalize import match_key
from wenda.index.models import Answer, Chunk, Mode, Passage
from wenda.index.query.answer import (
    Candidate,
    Decision,
    answer_offsets,
    compose,
    has_sentence_scores,
)
from wenda.index.query.features import ANSWER_PASSAGES, SPAN_FEATURES
from wenda.index.query.late import sentence_scores
from wenda.index.query.model import ShippedModels
from wenda.index.query.passages import PassageReading, passage_view, read_passage
from wenda.index.query.question import Question, read_question
from wenda.index.query.question_words import shipped_question_words
from wenda.index.query.retrieve import lexical_candidates, retrieve
from wenda.index.store.base import IndexReader
from wenda.index.store.lexical import ChineseTokenizer

_COV_PASSAGE = SPAN_FEATURES.index("cov_passage")
READ_AHEAD = 3
"""Lexical top passages the question is read against during the encode."""
STAGES = ("analyse", "encode", "retrieve", "fetch", "compose")
"""``analyse`` (question read + BM25) runs during ``encode``, so the stages overlap."""
Composer = Callable[[Question, list[Candidate]], Decision]


@functools.lru_cache(maxsize=16384)
def match_form(text: str) -> str:
    """The form question terms are matched in: the tokenizer's (NFKC, traditional folded).

    Cached: compose folds every sentence and sentence pair of the top passages (~57 calls
    a question), 41% of its time in one profile, and the same passages come back for
    many questions. Pure, so a cache cannot change an answer."""
    return match_key(text)


@dataclass(frozen=True)
class PipelineConfig:
    """The few retrieval/answer values the pipeline needs (taken from core Settings)."""

    candidate_k: int = 50
    rrf_k: int = 60
    mode: Mode = "hybrid+rerank"
    threshold: float | None = None  # None: the fitted cut of the answer model
    comparable_cosines: bool = True  # False for embedders the model was not fitted on


@dataclass
class PipelineResult:
    question: Question
    candidates: list[Candidate]
    decision: Decision
    version: str  # the index version it ran on
    timings: dict[str, float] = field(default_factory=dict)  # ms per stage
    variant: str = ""  # the answer model variant that composed (``fit.VARIANTS``; "" custom)

    def to_answer(self, took_ms: float = 0.0) -> Answer:
        d = self.decision
        passages = [
            Passage(
                n=i + 1,
                doc_id=c.chunk.doc_id,
                title=c.chunk.title,
                section=c.chunk.section,
                start=c.chunk.start,
                end=c.chunk.end,
                score=c.score,
                text=c.chunk.text,
                chunk_id=c.chunk_id,
                page=c.chunk.page,
            )
            for i, c in enumerate(self.candidates)
        ]
        span = d.span
        if d.answerable and span is not None:
            offsets = answer_offsets([p.text for p in passages], span.text)
            for p, where in zip(passages, offsets, strict=True):
                if where is not None:
                    p.answer_start, p.answer_end = where
        cosines = [c.dense_score for c in self.candidates if c.dense_score is not None]
        return Answer(
            question=self.question.text,
            answerable=d.answerable,
            answer=d.answer,
            passages=passages,
            index_version=self.version,
            took_ms=took_ms,
            support=round(d.support, 4),
            coverage=round(span.features[_COV_PASSAGE], 4) if span and span.features else 0.0,
            best_cosine=max(cosines) if cosines else None,
            reason=d.reason,
            missing=list(d.missing),
        )


@dataclass(frozen=True)
class _LexicalSide:
    """What needs no query vector: the question read and its BM25 candidates."""

    terms: list[str]
    question: Question
    hits: list[tuple[int, float]]
    readings: dict[int, PassageReading]  # the question read against the lexical top
    chunks: dict[int, Chunk]  # their records, so the fetch stage reads only the rest
    ms: float


def _read_ahead(
    reader: IndexReader, question: Question, hits: list[tuple[int, float]]
) -> tuple[dict[int, PassageReading], dict[int, Chunk]]:
    """Read the question against the lexical top passages while the encoder runs: most
    are among the final top (measured in bench/results.md), so compose only assembles.
    Returns the readings and the chunk records read for them."""
    if not question.terms or question.is_keyword:
        return {}, {}
    chunks = reader.chunks([cid for cid, _ in hits[:READ_AHEAD]])
    readings = {
        cid: read_passage(question, passage_view(chunk, match_form))
        for cid, chunk in chunks.items()
    }
    return readings, chunks


class QuestionPipeline:
    """Runs one question over one index version; thread-safe (holds no per-call state).

    The lexical side (question analysis and BM25, 0.2-0.4 ms) runs on a helper thread while
    the encoder's model run, which releases the GIL, holds the other core: ``POST /ask``
    0.1-0.35 ms faster on the seeds (bench/results.md, "fourth session").
    """

    def __init__(
        self,
        embedder: Embedder,
        tokenizer: ChineseTokenizer,
        config: PipelineConfig,
        models: ShippedModels | None = None,
        composer: Composer | None = None,
    ) -> None:
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.config = config
        self._models = models
        self.composer = composer
        self._beside = ThreadPoolExecutor(2, thread_name_prefix="wenda-lexical")

    def close(self) -> None:
        self._beside.shutdown(wait=False)

    @property
    def models(self) -> ShippedModels:
        """The shipped answer model, read on first use (feature extraction runs without it)."""
        if self._models is None:
            self._models = ShippedModels.load()
        return self._models

    def run(
        self,
        reader: IndexReader,
        text: str,
        k: int,
        mode: Mode | None = None,
        composer: Composer | None = None,
    ) -> PipelineResult:
        """``composer`` replaces the learned compose stage (baselines, feature extraction)."""
        mode = mode or self.config.mode
        timings: dict[str, float] = {}
        mark = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            timings[stage] = round((now - mark) * 1000, 3)
            mark = now

        def lexical_side() -> _LexicalSide:
            started = time.perf_counter()
            terms = self.tokenizer.query_terms(text)
            question = read_question(
                text, terms, reader.term_idf, match_form, shipped_question_words()
            )
            hits = lexical_candidates(reader, terms, mode, self.config.candidate_k)
            readings, chunks = _read_ahead(reader, question, hits)
            ms = (time.perf_counter() - started) * 1000
            return _LexicalSide(terms, question, hits, readings, chunks, ms)

        vector = None
        if mode == "bm25":
            side = lexical_side()
        else:
            pending: list[Future[_LexicalSide]] = []
            vector = encode_query_beside(
                self.embedder, text, lambda: pending.append(self._beside.submit(lexical_side))
            )
            side = pending[0].result() if pending else lexical_side()
        timings["analyse"] = round(side.ms, 3)  # beside the encode, on the other core
        lap("encode")
        terms, question = side.terms, side.question
        hits = retrieve(
            reader, vector, terms, k, mode, self.config.candidate_k, self.config.rrf_k, side.hits
        )
        lap("retrieve")
        by_id = {h.chunk_id: side.chunks[h.chunk_id] for h in hits if h.chunk_id in side.chunks}
        rest = [h.chunk_id for h in hits if h.chunk_id not in by_id]
        if rest:  # one read for the records the read-ahead did not bring (Milvus: a query)
            by_id.update(reader.chunks(rest))
        candidates = [
            Candidate(
                chunk_id=h.chunk_id,
                chunk=by_id[h.chunk_id],
                score=h.score,
                dense_rank=h.dense_rank,
                lexical_rank=h.lexical_rank,
                dense_score=h.dense_score,
            )
            for h in hits
            if h.chunk_id in by_id
        ]
        if vector is not None and self.config.comparable_cosines:
            for c in candidates[:ANSWER_PASSAGES]:
                c.sentences = sentence_scores(c.chunk, vector)
        lap("fetch")
        composer = composer or self.composer
        variant = ""
        if composer is not None:
            decision = composer(question, candidates)
        else:
            dense = vector is not None and self.config.comparable_cosines
            if not dense:
                variant = "lexical"
            else:
                variant = "late" if has_sentence_scores(candidates) else "dense"
            model = self.models.variant(variant)
            decision = compose(
                question,
                candidates,
                model,
                match_form,
                self.config.threshold,
                use_cosine=dense,
                readings=side.readings,
            )
        lap("compose")
        return PipelineResult(question, candidates, decision, reader.version, timings, variant)
