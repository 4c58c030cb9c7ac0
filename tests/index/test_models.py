"""The public answer shape: ``Passage.to_dict`` spells its fields out, so keep it complete."""

from __future__ import annotations

from dataclasses import fields

from wenda.index.models import Passage


def test_passage_to_dict_has_every_public_field() -> None:
    passage = Passage(3, "a.txt", "标题", "第一节", 5, 9, 0.5, "正文内容", 1, 3, chunk_id=7, page=2)
    data = passage.to_dict()
    assert set(data) == {f.name for f in fields(Passage)} - {"chunk_id"}
    assert data == {
        "n": 3,
        "doc_id": "a.txt",
        "title": "标题",
        "section": "第一节",
        "start": 5,
        "end": 9,
        "score": 0.5,
        "text": "正文内容",
        "answer_start": 1,
        "answer_end": 3,
        "page": 2,
    }
