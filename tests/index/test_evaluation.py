from __future__ import annotations

from pathlib import Path

import pytest
from wenda.index.evaluation import EvalItem, evaluate, format_result, load_jsonl
from wenda.index.models import Answer, Passage


def _answer(question: str, answerable: bool, answer: str, texts: list[str]) -> Answer:
    passages = [
        Passage(
            n=i + 1, doc_id=f"d{i}", title="t", section="", start=0, end=len(t), score=1.0, text=t
        )
        for i, t in enumerate(texts)
    ]
    return Answer(question, answerable, answer, passages)


def test_metrics_follow_definitions() -> None:
    items = [
        EvalItem("1", "q1", ("5182家",), "number"),
        EvalItem("2", "q2", ("99.3万人观看",), "number"),
        EvalItem("3", "q3", (), "unanswerable"),
        EvalItem("4", "q4", (), "unanswerable"),
    ]
    replies = {
        # gold split by whitespace in the passage still counts (whitespace removed)
        "q1": _answer("q1", True, "共5182家[1]", ["定点医疗机构 5182\n家", "x"]),
        # found at rank 2, but the answer is rejected
        "q2": _answer("q2", False, "资料中没有找到相关内容。", ["x", "吸引99.3万人观看"]),
        "q3": _answer("q3", False, "资料中没有找到相关内容。", ["x"]),
        "q4": _answer("q4", True, "瞎猜[1]", ["x"]),
    }
    result = evaluate(items, lambda q: replies[q])
    m = result.metrics
    assert m["hit@1"] == 0.5 and m["hit@5"] == 1.0 and m["mrr@10"] == pytest.approx(0.75)
    assert m["answer_accuracy"] == 0.5 and m["false_rejection"] == 0.5
    assert m["unanswerable_rejection"] == 0.5
    assert result.by_type["number"]["hit@1"] == 0.5
    assert "| all |" in format_result(result)


def test_doc_id_restricts_hits() -> None:
    item = EvalItem("1", "q", ("答案",), doc_id="d1")
    result = evaluate([item], lambda q: _answer(q, True, "答案", ["答案", "答案"]))
    assert result.metrics["hit@1"] == 0.0 and result.metrics["mrr@10"] == 0.5


def test_load_jsonl_reports_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text('{"id": "a", "question": "q", "answers": []}\n\n', "utf-8")
    assert load_jsonl(good)[0].type == "unanswerable"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a"}\n', "utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        load_jsonl(bad)
