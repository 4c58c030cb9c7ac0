from __future__ import annotations

import json
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


def _squad_file(tmp_path: Path) -> Path:
    data = {
        "data": [
            {
                "id": "a1",
                "title": "图书馆",
                "paragraphs": [
                    {
                        "id": "p1",
                        "context": "图书馆建于1998年。现任馆长为林晓雯。馆内藏书十万册。",
                        "qas": [
                            {"id": "q1", "question": "馆长是谁？", "answers": [{"text": "林晓雯"}]},
                            {"id": "q2", "question": "哪年建的？", "answers": [{"text": "1998年"}]},
                            {"id": "q3", "question": "藏书多少？", "answers": [{"text": "十万册"}]},
                        ],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return path


def test_cut_answers_makes_one_on_topic_question_unanswerable(tmp_path: Path) -> None:
    from wenda.index.squad import as_given, cut_answers, load_squad

    paragraphs = load_squad(_squad_file(tmp_path))
    assert len(as_given(paragraphs).items) == 3
    cut = cut_answers(paragraphs)
    (para,) = cut.paragraphs
    unanswerable = [i for i in cut.items if not i.answerable]
    assert len(unanswerable) == 1 and cut.dropped == 0
    gone = next(q for q in paragraphs[0].questions if q.qid == unanswerable[0].id)
    assert gone.answers[0] not in para.context  # its sentence was deleted ...
    assert len(para.context) > 0  # ... and the rest of the paragraph stays
    for item in cut.items:
        if item.answerable:
            assert item.answers[0] in para.context and item.doc_id == "p1.txt"
    assert cut_answers(paragraphs).items == cut.items  # fixed seed: the same cut every time


def test_eval_cli_measures_abstention_on_squad_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from wenda.index.cli import main

    monkeypatch.setenv("WENDA_MODEL", "hashing")
    code = main(
        [
            "eval",
            "--squad",
            str(_squad_file(tmp_path)),
            "--cut-answers",
            "--work",
            str(tmp_path / "work"),
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 3
    assert "unanswerable_rejection" in out["metrics"]
    assert (tmp_path / "work" / "corpus" / "p1.txt").exists()


def test_answer_accuracy_needs_a_short_answer() -> None:
    from wenda.index.evaluation import MAX_ANSWER_CHARS, answer_correct

    item = EvalItem("1", "q", ("答案",))
    short = _answer("q", True, "这是答案。[1]", ["这是答案。"])
    long_text = "这是答案。" + "很长" * MAX_ANSWER_CHARS
    assert answer_correct(item, short)
    assert not answer_correct(item, _answer("q", True, long_text + "[1]", [long_text]))
    assert not answer_correct(item, _answer("q", False, "这是答案。", ["这是答案。"]))
