"""Corpus scanning and loading: order, hashes, junk, and one warning per unreadable file."""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

import docx
import pytest
from wenda.index.errors import CorpusNotFoundError
from wenda.index.ingest.chunking import chunk_document
from wenda.index.ingest.corpus import CorpusEntry, load_document, scan_corpus
from wenda.index.ingest.loaders import UnreadableDocumentError

REPO = Path(__file__).resolve().parents[3]
SEEDS = sorted((REPO / "corpus").glob("*.txt"))
MAX = 100_000


def build_corpus(root: Path) -> dict[str, str]:
    """A corpus with good files in subfolders, junk, and one file per failure mode.

    Returns the bad files' doc_ids with a word their skip reason must contain.
    """
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "b.txt").write_text("第二个文档\n内容是一句完整的话，说明了第二个文档。\n", "utf-8")
    (root / "a.md").write_text("# 第一个\n\n内容。\n", "utf-8")
    (root / "sub" / "c.txt").write_bytes("子目录中的文档。".encode("gbk"))
    (root / "sub" / "deeper" / "d.html").write_text("<title>D</title><p>深层。</p>", "utf-8")
    good_docx = docx.Document()
    good_docx.add_paragraph("docx 文档内容。")
    good_docx.save(str(root / "sub" / "e.docx"))
    # ignored without a warning: hidden, Office lock files, OS droppings
    (root / ".hidden" / "secret.txt").write_text("不应出现。", "utf-8")
    (root / ".DS_Store").write_bytes(b"\x00\x01")
    (root / "sub" / "~$e.docx").write_bytes(b"lock")
    (root / "Thumbs.db").write_bytes(b"\x00")
    # unreadable, each must be warned about exactly once
    (root / "binary.txt").write_bytes(b"text\x00\x01\x02binary")
    (root / "empty.txt").write_bytes(b"")
    (root / "big.txt").write_text("大" * 50_000, "utf-8")
    (root / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage")
    (root / "sub" / "corrupt.docx").write_bytes(b"PK\x03\x04 not a docx")
    (root / "program.exe").write_bytes(b"MZ\x90\x00")
    return {
        "binary.txt": "binary",
        "empty.txt": "empty",
        "big.txt": "too large",
        "corrupt.pdf": "corrupt PDF",
        "sub/corrupt.docx": "corrupt docx",
        "program.exe": "unsupported",
    }


GOOD = ["a.md", "b.txt", "sub/c.txt", "sub/deeper/d.html", "sub/e.docx"]


def corpus_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "wenda.corpus" and r.levelno == logging.WARNING
    ]


def test_scan_then_load_warns_once_per_unreadable_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = build_corpus(tmp_path)
    caplog.set_level(logging.DEBUG, logger="wenda.corpus")
    scan = scan_corpus(tmp_path, MAX)
    docs = list(scan.documents())

    assert [d.doc_id for d in docs] == GOOD
    skipped = dict(scan.skipped)
    assert set(skipped) == set(bad)
    for doc_id, word in bad.items():
        assert word in skipped[doc_id]
    warnings = corpus_warnings(caplog)
    assert len(warnings) == len(bad)
    for doc_id in bad:
        assert len([w for w in warnings if doc_id in w]) == 1
    assert not [w for w in warnings if "secret" in w or "DS_Store" in w or "~$" in w]
    assert {d.doc_id: d.title for d in docs}["a.md"] == "第一个"
    assert "子目录中的文档。" in next(d.text for d in docs if d.doc_id == "sub/c.txt")


def test_scan_is_cheap_ordered_and_hashes_raw_bytes(tmp_path: Path) -> None:
    build_corpus(tmp_path)
    scan = scan_corpus(tmp_path, MAX)
    ids = [c.doc_id for c in scan.candidates]
    assert ids == sorted(ids)
    # content problems are found when loading, not by the scan
    assert "binary.txt" in ids and "corrupt.pdf" in ids and "sub/corrupt.docx" in ids
    assert "big.txt" not in ids and "empty.txt" not in ids and "program.exe" not in ids
    for entry in scan.candidates:
        assert isinstance(entry, CorpusEntry)
        doc_id, path, digest = entry
        assert path == tmp_path / doc_id
        assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert scan.hashes["b.txt"] == hashlib.sha256((tmp_path / "b.txt").read_bytes()).hexdigest()
    assert scan_corpus(tmp_path, MAX) == scan


def test_hash_changes_only_with_content(tmp_path: Path) -> None:
    build_corpus(tmp_path)
    before = scan_corpus(tmp_path, MAX).hashes
    (tmp_path / "b.txt").write_text("改过的文档。\n", "utf-8")
    (tmp_path / "a.md").touch()
    after = scan_corpus(tmp_path, MAX).hashes
    assert after["b.txt"] != before["b.txt"]
    assert {k: v for k, v in after.items() if k != "b.txt"} == {
        k: v for k, v in before.items() if k != "b.txt"
    }


def test_load_document_directly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    build_corpus(tmp_path)
    doc = load_document(tmp_path, "sub/deeper/d.html", MAX)
    assert doc.doc_id == "sub/deeper/d.html" and doc.title == "D" and doc.text == "深层。"
    assert doc.content_hash == hashlib.sha256((tmp_path / doc.doc_id).read_bytes()).hexdigest()
    caplog.set_level(logging.WARNING, logger="wenda.corpus")
    for doc_id in ("corrupt.pdf", "../outside.txt", "nope.txt"):
        with pytest.raises(UnreadableDocumentError):
            load_document(tmp_path, doc_id, MAX)
    assert len(corpus_warnings(caplog)) == 3


def test_scan_load_records_failures(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    build_corpus(tmp_path)
    scan = scan_corpus(tmp_path, MAX)
    caplog.clear()
    entry = next(c for c in scan.candidates if c.doc_id == "binary.txt")
    assert scan.load(entry) is None
    assert ("binary.txt", scan.skipped[-1][1]) == scan.skipped[-1]
    assert len(corpus_warnings(caplog)) == 1
    assert scan.load("b.txt") is not None


def test_missing_corpus_dir(tmp_path: Path) -> None:
    with pytest.raises(CorpusNotFoundError) as caught:
        scan_corpus(tmp_path / "nope", MAX)
    assert caught.value.path == str(tmp_path / "nope")


def test_seed_corpus_loads_deterministically(tmp_path: Path) -> None:
    for seed in SEEDS:
        shutil.copy(seed, tmp_path / seed.name)
    first = scan_corpus(tmp_path, 10_000_000)
    assert [c.doc_id for c in first.candidates] == sorted(s.name for s in SEEDS)
    docs = list(first.documents())
    again = list(scan_corpus(tmp_path, 10_000_000).documents())
    assert docs == again
    assert [chunk_document(d) for d in docs] == [chunk_document(d) for d in again]
    titles = {d.title for d in docs}
    assert "川渝合作成效盘点" in titles
    assert all(d.sections for d in docs)
