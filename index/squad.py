"""SQuAD-style question sets as Wenda corpora, with on-topic unanswerable questions.

Why: a gate that only ever sees answerable questions learns to answer everything. The
SQuAD 2.0-style *cut* construction makes unanswerable questions that stay on topic: for
each paragraph one question is picked (fixed seed) and every sentence containing any of
its gold answers is deleted, the rest of the paragraph stays. That question becomes
unanswerable unless a gold string survives somewhere in the corpus (then it is dropped as
ambiguous); the paragraph's other questions stay answerable when their answers survive in
the cut paragraph (else they are dropped too).
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from wenda.index.evaluation import EvalItem, squash
from wenda.index.ingest.sentences import split_sentences

CUT_SEED = 20261201  # fixed: the same file always gives the same cut questions


@dataclass(frozen=True)
class SquadQuestion:
    qid: str
    question: str
    answers: tuple[str, ...]


@dataclass(frozen=True)
class SquadParagraph:
    pid: str
    article: str  # article id/title: held-out splits group paragraphs by it
    title: str
    context: str
    questions: tuple[SquadQuestion, ...]

    @property
    def doc_id(self) -> str:
        return f"{self.pid}.txt"


@dataclass
class SquadSet:
    """Paragraphs to index and the questions to ask over them."""

    paragraphs: list[SquadParagraph]
    items: list[EvalItem]
    article_of: dict[str, str] = field(default_factory=dict)  # item id -> article
    dropped: int = 0  # questions left out (answer cut away, or cut gold survives elsewhere)


def load_squad(path: Path) -> list[SquadParagraph]:
    """Paragraphs of a SQuAD-layout JSON file (CMRC 2018, DRCD), in file order."""
    data = json.loads(path.read_text("utf-8"))["data"]
    out = []
    for a_index, article in enumerate(data):
        article_key = str(article.get("id") or article.get("title") or a_index)
        for p_index, para in enumerate(article["paragraphs"]):
            questions = tuple(
                SquadQuestion(
                    str(qa["id"]),
                    qa["question"].strip(),
                    tuple(dict.fromkeys(a["text"] for a in qa["answers"] if a["text"].strip())),
                )
                for qa in para["qas"]
                if qa["question"].strip()
            )
            pid = str(para.get("id") or f"{article_key}-{p_index}")
            title = (article.get("title") or para.get("title") or pid).strip()
            out.append(SquadParagraph(pid, article_key, title, para["context"], questions))
    return out


def as_given(paragraphs: list[SquadParagraph]) -> SquadSet:
    """Every answerable question over the unchanged paragraphs."""
    out = SquadSet(paragraphs, [])
    for p in paragraphs:
        for q in p.questions:
            if q.answers:
                out.items.append(EvalItem(q.qid, q.question, q.answers, "squad", p.doc_id))
                out.article_of[q.qid] = p.article
    return out


def cut_answers(paragraphs: list[SquadParagraph], seed: int = CUT_SEED) -> SquadSet:
    """The cut construction described in the module docstring."""
    cut_paras: list[SquadParagraph] = []
    cut_question: dict[str, SquadQuestion] = {}
    for p in paragraphs:
        answerable = [q for q in p.questions if q.answers]
        rng = random.Random(hashlib.sha256(f"{seed}:{p.pid}".encode()).digest())
        rng.shuffle(answerable)
        context = p.context
        for q in answerable:
            kept = _without_sentences_containing(p.context, q.answers)
            if kept.strip():
                context, cut_question[p.pid] = kept, q
                break
        cut_paras.append(SquadParagraph(p.pid, p.article, p.title, context, p.questions))
    corpus = [squash(p.context) for p in cut_paras]
    out = SquadSet(cut_paras, [])
    for p in cut_paras:
        here = squash(p.context)
        cut = cut_question.get(p.pid)
        for q in p.questions:
            if not q.answers:
                continue
            golds = [squash(g) for g in q.answers]
            if cut is not None and q.qid == cut.qid:
                if any(g in doc for g in golds for doc in corpus):
                    out.dropped += 1
                    continue
                out.items.append(EvalItem(q.qid, q.question, (), "unanswerable"))
            elif any(g in here for g in golds):
                out.items.append(EvalItem(q.qid, q.question, q.answers, "squad", p.doc_id))
            else:
                out.dropped += 1
                continue
            out.article_of[q.qid] = p.article
    return out


def _without_sentences_containing(text: str, golds: tuple[str, ...]) -> str:
    squashed = [squash(g) for g in golds]
    kept = [
        text[s:e]
        for s, e in split_sentences(text)
        if not any(g in squash(text[s:e]) for g in squashed)
    ]
    return "".join(kept)


def write_corpus(paragraphs: list[SquadParagraph], corpus_dir: Path) -> None:
    """One .txt per paragraph: title line, blank line, context (doc_id = ``<pid>.txt``).

    Files are rewritten only when their text changes, so an incremental build over a
    cached index re-embeds nothing when the set is the same.
    """
    corpus_dir.mkdir(parents=True, exist_ok=True)
    wanted = {p.doc_id: f"{p.title}\n\n{p.context}\n" for p in paragraphs}
    for old in corpus_dir.glob("*.txt"):
        if old.name not in wanted:
            old.unlink()
    for name, text in wanted.items():
        path = corpus_dir / name
        if not path.exists() or path.read_text("utf-8") != text:
            path.write_text(text, "utf-8")


def reset_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
