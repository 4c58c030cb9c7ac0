"""Hostile corpus entries (issue 10 items 1-3): links out, loops, FIFOs, devices, odd names,
loader crashes and slightly damaged text. Real files, links and FIFOs in a temp folder."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
from wenda.index.builder import build_index
from wenda.index.embedding.base import HashingEmbedder
from wenda.index.ingest import corpus as corpus_module
from wenda.index.ingest.corpus import load_document, scan_corpus
from wenda.index.ingest.corpus_walk import raw_relative_path, safe_doc_id
from wenda.index.ingest.loaders import UnreadableDocumentError
from wenda.index.settings import Settings
from wenda.index.store.lexical import ChineseTokenizer

MAX = 1_000_000
TEXT = "成渝地区双城经济圈建设是一项系统工程，需要两地共同推进。"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "wenda.corpus"]


def test_symlinks_outside_the_corpus_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("机密：不应被索引。", "utf-8")
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "good.txt").write_text(TEXT, "utf-8")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "secret.txt").symlink_to(outside / "secret.txt")
    (corpus / "outdir").symlink_to(outside, target_is_directory=True)
    (corpus / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    # links that stay inside are followed once; a link to a parent folder is no loop
    (corpus / "sub" / "inner.txt").write_text(TEXT + "内部。", "utf-8")
    (corpus / "alias.txt").symlink_to(corpus / "sub" / "inner.txt")
    (corpus / "sub" / "up").symlink_to(corpus, target_is_directory=True)
    caplog.set_level(logging.WARNING, "wenda.corpus")

    scan = scan_corpus(corpus, MAX)

    ids = [c.doc_id for c in scan.candidates]
    assert ids == ["alias.txt", "good.txt", "sub/inner.txt"]
    skipped = dict(scan.skipped)
    for name in ("passwd.txt", "secret.txt", "outdir"):
        assert "outside the corpus" in skipped[name]
    assert "broken" in skipped["dangling.txt"]
    assert "loop" in skipped["sub/up"]
    warned = _warnings(caplog)
    assert all(any(name in w for w in warned) for name in ("passwd.txt", "secret.txt", "outdir"))
    # loading by id re-checks: a link swapped in after the scan is refused too
    with pytest.raises(UnreadableDocumentError, match="outside"):
        load_document(corpus, "passwd.txt", MAX)


def test_fifos_and_devices_are_skipped_without_blocking(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "good.txt").write_text(TEXT, "utf-8")
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "null.txt").symlink_to("/dev/null")  # a device, and outside the corpus
    (tmp_path / "inner_pipe.txt").symlink_to(tmp_path / "pipe.txt")
    caplog.set_level(logging.WARNING, "wenda.corpus")

    scan = scan_corpus(tmp_path, MAX)

    assert [c.doc_id for c in scan.candidates] == ["good.txt"]
    skipped = dict(scan.skipped)
    assert "FIFO" in skipped["pipe.txt"] and "FIFO" in skipped["inner_pipe.txt"]
    assert "null.txt" in skipped
    with pytest.raises(UnreadableDocumentError, match="FIFO"):
        load_document(tmp_path, "pipe.txt", MAX)  # would block forever in open()
    assert any("pipe.txt" in w for w in _warnings(caplog))


def test_non_utf8_file_name_gets_a_safe_id_and_is_indexed(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/\xb3\xc9\xd3\xe5 report \xff.txt"  # GBK "成渝" + junk
    with open(raw, "wb") as handle:
        handle.write(TEXT.encode("utf-8"))
    (tmp_path / "100%FF.txt").write_text(TEXT + "百分号。", "utf-8")  # a real '%' name

    scan = scan_corpus(tmp_path, MAX)
    ids = [c.doc_id for c in scan.candidates]
    odd = next(i for i in ids if "report" in i)
    assert odd == "%B3%C9%D3%E5 report %FF.txt"
    odd.encode("utf-8")  # valid UTF-8: SQLite, JSON and URLs accept it
    assert raw_relative_path(odd) == os.fsdecode(b"\xb3\xc9\xd3\xe5 report \xff.txt")
    assert safe_doc_id("普通.txt") == "普通.txt"
    docs = {d.doc_id: d for d in scan.documents()}
    assert set(docs) == {odd, "100%FF.txt"} and TEXT in docs[odd].text


def test_any_loader_exception_skips_only_that_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "good.txt").write_text(TEXT, "utf-8")
    (tmp_path / "crash.txt").write_text("这个文件让加载器崩溃。", "utf-8")
    real = corpus_module.load_bytes

    def crashing(name: str, data: bytes, options: object = None) -> object:
        if name == "crash.txt":
            raise RecursionError("maximum recursion depth exceeded")
        return real(name, data, options)  # type: ignore[arg-type]

    monkeypatch.setattr(corpus_module, "load_bytes", crashing)
    caplog.set_level(logging.WARNING, "wenda.corpus")
    scan = scan_corpus(tmp_path, MAX)
    docs = list(scan.documents())
    assert [d.doc_id for d in docs] == ["good.txt"]
    reason = dict(scan.skipped)["crash.txt"]
    assert "RecursionError" in reason
    assert sum("crash.txt" in w for w in _warnings(caplog)) == 1


def test_hostile_corpus_builds_an_index(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """End to end: a build over links out, a FIFO, a deep HTML, bad bytes and an odd name."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(TEXT, "utf-8")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    os.mkfifo(corpus / "pipe.md")
    (corpus / "deep.html").write_text("<div>" * 3000 + "深层嵌套。" + "</div>" * 3000, "utf-8")
    damaged = (TEXT * 20).encode("utf-8")
    (corpus / "damaged.txt").write_bytes(damaged[:30] + b"\xff\xfe" + damaged[32:])
    with open(os.fsencode(corpus) + b"/\xc3(.txt", "wb") as handle:
        handle.write("名字不是 UTF-8 的文件。".encode())
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "idx")
    caplog.set_level(logging.WARNING)

    report = build_index(settings, HashingEmbedder(), ChineseTokenizer())

    assert report.published
    assert "damaged.txt" in report.added and "good.txt" in report.added
    assert "%C3(.txt" in report.added
    skipped = dict(report.skipped)
    assert "passwd.txt" in skipped and "pipe.md" in skipped
    assert "damaged.txt" not in skipped
    assert any("damaged.txt" in w and "U+FFFD" in w for w in _warnings(caplog))


def test_a_document_that_breaks_the_chunker_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wenda.index import builder

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(TEXT, "utf-8")
    (corpus / "breaks.txt").write_text("这个文件让分块器崩溃。", "utf-8")
    real = builder.chunk_document

    def chunk(doc: Any, *args: Any) -> Any:
        if doc.doc_id == "breaks.txt":
            raise IndexError("chunker bug")
        return real(doc, *args)

    monkeypatch.setattr(builder, "chunk_document", chunk)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "idx")
    report = build_index(settings, HashingEmbedder(), ChineseTokenizer())
    assert report.published and report.added == ["good.txt"]
    assert "IndexError" in dict(report.skipped)["breaks.txt"]


@pytest.mark.parametrize("codec", ["utf-8", "gb18030", "big5"])
def test_two_bad_bytes_are_replaced_not_the_whole_file_dropped(
    tmp_path: Path, codec: str, caplog: pytest.LogCaptureFixture
) -> None:
    text = "臺灣與四川的合作項目穩步推進，兩地交流日益頻繁。" * 30
    data = text.encode(codec)
    cut = len(text[:100].encode(codec))  # a character boundary: only two bytes go bad
    (tmp_path / "damaged.txt").write_bytes(data[:cut] + b"\xff\xff" + data[cut + 2 :])
    caplog.set_level(logging.WARNING, "wenda.corpus")

    doc = load_document(tmp_path, "damaged.txt", MAX)

    assert "\ufffd" in doc.text
    assert text[:90] in doc.text and text[-90:] in doc.text  # the rest decoded correctly
    assert any("damaged.txt" in w and "U+FFFD" in w for w in _warnings(caplog))
