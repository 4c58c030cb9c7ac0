"""Chunking of the seed documents and of synthetic edge cases."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from wenda.index.ingest.chunking import chunk_document, split_long
from wenda.index.ingest.cleaning import clean
from wenda.index.ingest.corpus import load_document
from wenda.index.ingest.sentences import split_sentences
from wenda.index.models import Chunk, Document, Section

REPO = Path(__file__).resolve().parents[3]
CORPUS = REPO / "corpus"
SHARED = Path(__file__).resolve().parents[3].parent / "shared"
SEED_FILES = {  # shared seed name -> readable name in corpus/
    "000_bb55dcc364cebf95.txt": "川渝合作成效盘点.txt",
    "001_808b43b5ddd36a68.txt": "推动成渝地区双城经济圈建设的N个第一次.txt",
}
MAX = 320


@pytest.fixture(scope="module")
def seeds() -> dict[str, tuple[Document, list[Chunk]]]:
    out = {}
    for name in SEED_FILES.values():
        doc = load_document(CORPUS, name, 10_000_000)
        out[name] = (doc, chunk_document(doc))
    return out


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def make_doc(text: str, sections: tuple[Section, ...] = ()) -> Document:
    return Document("t.txt", "t", text, sections, "0" * 64)


def test_seed_chunk_offsets_and_sizes(seeds) -> None:
    for doc, chunks in seeds.values():
        assert chunks
        for chunk in chunks:
            assert doc.text[chunk.start : chunk.end] == chunk.text
            assert 0 < len(chunk.text) <= MAX
            assert chunk.text == chunk.text.strip()
            assert chunk.doc_id == doc.doc_id and chunk.title == doc.title


def test_seed_chunks_stay_inside_their_section(seeds) -> None:
    for doc, chunks in seeds.values():
        for chunk in chunks:
            inside = [s for s in doc.sections if s.start <= chunk.start and chunk.end <= s.end]
            if chunk.section:
                assert [s.title for s in inside] == [chunk.section]
            else:
                assert all(chunk.end <= s.start or chunk.start >= s.end for s in doc.sections)


def test_seed_sections_of_chunks(seeds) -> None:
    _doc, chunks = seeds["川渝合作成效盘点.txt"]
    medical = [c for c in chunks if c.section == "医保直接结算"]
    assert medical and any("5182家" in c.text for c in medical)
    assert all(c.section == "医保直接结算" for c in chunks if "5182家" in c.text)
    first = next(c for c in chunks if c.section == "共建科创中心")
    assert first.text.startswith("共建科创中心\n一年多来")
    dated = next(c for c in chunks if "成达万高铁可研报告" in c.text)
    assert dated.section == "11月4日" and dated.text.startswith("11月4日\n")


def test_no_chunk_is_a_heading_alone(seeds) -> None:
    for doc, chunks in seeds.values():
        titles = {s.title for s in doc.sections}
        assert not [c for c in chunks if c.text in titles]
    doc, chunks = seeds["推动成渝地区双城经济圈建设的N个第一次.txt"]
    assert "第一阶段" in {s.title for s in doc.sections}  # only a heading beneath it
    assert not [c for c in chunks if c.section == "第一阶段"]


def test_gold_answers_land_inside_one_chunk(seeds) -> None:
    dev = SHARED / "eval" / "seeds_dev.jsonl"
    if not dev.exists():
        pytest.skip("shared eval data not present")
    checked = 0
    for line in dev.read_text("utf-8").splitlines():
        item = json.loads(line)
        if not item["source"]:
            continue
        _, chunks = seeds[SEED_FILES[item["source"]]]
        for gold in item["answers"]:
            assert any(squash(gold) in squash(c.text) for c in chunks), (item["id"], gold)
            checked += 1
    assert checked >= 20


def test_consecutive_chunks_overlap_by_one_sentence(seeds) -> None:
    pairs = 0
    for doc, chunks in seeds.values():
        for a, b in itertools.pairwise(chunks):
            if a.section != b.section or b.start >= a.end:
                continue
            pairs += 1
            shared = split_sentences(doc.text, b.start, a.end)
            assert len(shared) == 1 and shared[0] == (b.start, a.end)
    assert pairs >= 3


def test_overlap_on_synthetic_text() -> None:
    sentences = [f"这是第{i}个句子，用来测试重叠的效果和长度控制。" for i in range(30)]
    doc = make_doc("".join(sentences))
    chunks = chunk_document(doc, target_chars=100, max_chars=150)
    assert len(chunks) > 3
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end
        assert split_sentences(doc.text, b.start, a.end) == [(b.start, a.end)]
    assert chunks[0].start == 0 and chunks[-1].end == len(doc.text)
    no_overlap = chunk_document(doc, target_chars=100, max_chars=150, overlap_sentences=0)
    assert all(a.end <= b.start for a, b in itertools.pairwise(no_overlap))
    assert "".join(c.text for c in no_overlap) == doc.text


def test_chunks_do_not_cross_sections_and_carry_titles() -> None:
    first, second = "第一节的内容句子。" * 5, "第二节的句子。" * 5
    raw = f"前言部分的一句话。\n\n第一节\n{first}\n\n第二节\n{second}"
    text, sections = clean(raw)
    assert [s.title for s in sections] == ["第一节", "第二节"]
    chunks = chunk_document(make_doc(text, sections), target_chars=40, max_chars=60)
    assert chunks[0].section == "" and chunks[0].text == "前言部分的一句话。"
    for chunk in chunks[1:]:
        section = next(s for s in sections if s.title == chunk.section)
        assert section.start <= chunk.start and chunk.end <= section.end
    assert [c.text.split("\n")[0] for c in chunks if c.text.startswith("第")][:1] == ["第一节"]


def test_long_sentence_is_split_at_commas_or_hard() -> None:
    clauses = "，".join(f"第{i}个分句的内容比较长一些" for i in range(60)) + "。"
    doc = make_doc(clauses)
    chunks = chunk_document(doc, target_chars=100, max_chars=150)
    assert len(chunks) > 5
    assert all(len(c.text) <= 150 for c in chunks)
    assert all(c.text.endswith(("，", "。")) for c in chunks)
    assert squash("".join(c.text for c in chunk_document(doc, 100, 150, 0))) == squash(clauses)

    solid = "无" * 1000
    pieces = split_long(solid, 0, len(solid), 100, 150)
    assert all(e - s <= 150 for s, e in pieces)
    assert "".join(solid[s:e] for s, e in pieces) == solid


def test_small_tail_is_merged_into_previous_chunk() -> None:
    text = "一" * 60 + "。" + "二" * 60 + "。" + "三" * 60 + "。" + "尾巴。"
    chunks = chunk_document(make_doc(text), target_chars=120, max_chars=200, overlap_sentences=1)
    # without the merge the last chunk would be "三…。尾巴。" repeating the overlap sentence
    assert [(c.start, c.end) for c in chunks] == [(0, 122), (61, len(text))]


def test_heading_only_document_has_no_chunks() -> None:
    doc = make_doc("标题", (Section("标题", 0, 2),))
    assert chunk_document(doc) == []
    assert chunk_document(make_doc("")) == []


def test_bad_sizes_are_rejected() -> None:
    with pytest.raises(ValueError):
        chunk_document(make_doc("句子。"), target_chars=300, max_chars=200)
    with pytest.raises(ValueError):
        chunk_document(make_doc("句子。"), overlap_sentences=-1)


def test_chunking_is_deterministic(seeds) -> None:
    for name, (_, chunks) in seeds.items():
        again = chunk_document(load_document(CORPUS, name, 10_000_000))
        assert again == chunks
