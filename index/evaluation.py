"""Score question sets: retrieval hit@1/hit@5/MRR@10, answer accuracy, rejection rates.

A passage is correct when, with all whitespace removed, it contains one of the gold
strings (and, when an item names its gold document, comes from that document). An answer
is correct when it is given, contains a gold string and is at most ``MAX_ANSWER_CHARS``
long without its citation marker (so "the whole passage" never counts as an answer).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wenda.index.models import Answer

_SPACE = re.compile(r"\s+")
_MARKER = re.compile(r"\[\d+\]$")
MAX_ANSWER_CHARS = 200


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    answers: tuple[str, ...]
    type: str = "fact"
    doc_id: str | None = None  # when set, a hit must come from this document

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass
class EvalResult:
    n: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    by_type: dict[str, dict[str, float]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "metrics": self.metrics,
            "by_type": self.by_type,
            "failures": self.failures,
        }


def squash(text: str) -> str:
    return _SPACE.sub("", text)


def load_jsonl(path: Path) -> list[EvalItem]:
    """Read a set in the format of shared/eval/seeds_dev.jsonl."""
    items = []
    for line_no, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            items.append(
                EvalItem(
                    id=str(row.get("id", line_no)),
                    question=row["question"],
                    answers=tuple(row.get("answers") or ()),
                    type=row.get("type") or ("unanswerable" if not row.get("answers") else "fact"),
                )
            )
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}:{line_no}: not an eval item ({exc})") from exc
    return items


def _first_hit(item: EvalItem, answer: Answer) -> int | None:
    golds = [squash(g) for g in item.answers]
    for rank, p in enumerate(answer.passages):
        if item.doc_id is not None and p.doc_id != item.doc_id:
            continue
        text = squash(p.text)
        if any(g in text for g in golds):
            return rank
    return None


def answer_correct(item: EvalItem, answer: Answer) -> bool:
    """Given, short (≤ MAX_ANSWER_CHARS without the marker) and containing a gold string."""
    if not answer.answerable:
        return False
    body = squash(_MARKER.sub("", answer.answer))
    return len(body) <= MAX_ANSWER_CHARS and any(squash(g) in body for g in item.answers)


def evaluate(
    items: Iterable[EvalItem], ask: Callable[[str], Answer], depth: int = 10
) -> EvalResult:
    """Run every question through ``ask`` (which should return ``depth`` passages)."""
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    result = EvalResult()
    for item in items:
        answer = ask(item.question)
        groups = ("all", item.type)
        for g in groups:
            sums[g]["n"] += 1
        if not item.answerable:
            for g in groups:
                sums[g]["unanswerable"] += 1
                sums[g]["rejected_unanswerable"] += 0 if answer.answerable else 1
            if answer.answerable:
                result.failures.append({"id": item.id, "why": "answered", "answer": answer.answer})
            continue
        rank = _first_hit(item, answer)
        correct = answer_correct(item, answer)
        for g in groups:
            s = sums[g]
            s["answerable"] += 1
            s["hit@1"] += rank is not None and rank < 1
            s["hit@5"] += rank is not None and rank < 5
            s["mrr@10"] += 0.0 if rank is None or rank >= depth else 1.0 / (rank + 1)
            s["answer_accuracy"] += correct
            s["false_rejection"] += 0 if answer.answerable else 1
        if not correct or rank is None or rank > 0:
            result.failures.append(
                {
                    "id": item.id,
                    "rank": rank,
                    "answerable": answer.answerable,
                    "answer": answer.answer,
                }
            )
    result.n = int(sums["all"]["n"])
    for group, s in sums.items():
        metrics = {}
        if s["answerable"]:
            for key in ("hit@1", "hit@5", "mrr@10", "answer_accuracy", "false_rejection"):
                metrics[key] = round(s[key] / s["answerable"], 4)
        if s["unanswerable"]:
            metrics["unanswerable_rejection"] = round(
                s["rejected_unanswerable"] / s["unanswerable"], 4
            )
        metrics["n"] = int(s["n"])
        if group == "all":
            result.metrics = metrics
        else:
            result.by_type[group] = metrics
    return result


def format_result(result: EvalResult) -> str:
    """A human-readable table (the CLI's default output)."""
    keys = [
        "n",
        "hit@1",
        "hit@5",
        "mrr@10",
        "answer_accuracy",
        "false_rejection",
        "unanswerable_rejection",
    ]
    lines = ["| group | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 1)]
    rows = [("all", result.metrics), *sorted(result.by_type.items())]
    for name, m in rows:
        cells = [f"{m[k]:.3f}" if isinstance(m.get(k), float) else str(m.get(k, "–")) for k in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
