"""The format benchmarks stay runnable: their helpers on tiny data, never timing asserts."""

from __future__ import annotations

from wenda.index.evaluation import EvalItem
from wenda.index.ingest.loaders import load_bytes

from bench.ocr_speed import page_lines, png
from bench.script_folding import simplified


def test_questions_are_converted_and_answers_kept() -> None:
    item = EvalItem(
        id="1", question="臺灣大學在哪裡？", answers=("臺北",), type="drcd", doc_id="a.txt"
    )
    (converted,) = simplified([item])
    assert converted.question == "台湾大学在哪里？"
    assert converted.answers == ("臺北",) and converted.doc_id == "a.txt"


def test_ocr_bench_pages_are_dense_and_readable() -> None:
    lines = page_lines(1)
    assert len(lines) == 30 and all(len(line) == 35 for line in lines)
    text = load_bytes("p.png", png(2)).text.replace(" ", "")
    assert "成渝地区双城经济圈" in text
