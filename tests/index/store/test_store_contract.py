"""The store interface's contract, run against every backend in ``STORE_BACKENDS``.

Written only against ``wenda.index.store.base``: write, copy, publish, open, search,
rollback, incremental builds, invisible aborted builds and stable ids.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from wenda.index.errors import BuildInProgressError, IndexDamagedError
from wenda.index.store.base import (
    MAX_CHUNK_ID,
    IndexReader,
    IndexWriter,
    Store,
    chunk_id_for,
)

from tests.index.store.conftest import StoreFactory, make_doc, manifest

ALPHA = ["川渝 医保 直接 结算 5182家", "成渝 中欧班列 开行 1936列", "双城 经济圈 建设"]
BETA = ["成达万 高铁 可研 获批", "科技 创新 中心 共建"]
GAMMA = ["全新 文档 记载 4242个 样本"]


def _publish(store: Store, previous: IndexReader | None, docs: dict, copy: list[str]) -> str:
    writer = store.begin(previous, manifest())
    for doc_id in copy:
        writer.copy_document(doc_id)
    for doc_id, sentences in docs.items():
        writer.add_document(*make_doc(doc_id, sentences[0], sentences[1]))
    return writer.publish()


def _open_current(store: Store) -> IndexReader:
    version = store.current()
    assert version is not None
    return store.open(version)


def test_protocols_are_implemented(store_factory: StoreFactory) -> None:
    store = store_factory()
    assert isinstance(store, Store)
    writer = store.begin(None, manifest())
    assert isinstance(writer, IndexWriter)
    writer.abort()
    assert store.current() is None and store.published() == []


def test_publish_then_open_reads_back_everything(store_factory: StoreFactory) -> None:
    store = store_factory()
    version = _publish(store, None, {"a.txt": (ALPHA, "1"), "b.pdf": (BETA, "1")}, [])
    assert store.current() == version and store.published() == [version]
    reader = store_factory().open(version)  # a second handle, like another process
    try:
        assert reader.version == version and reader.chunk_count == 5
        assert reader.manifest.model == "contract-test" and reader.manifest.chunks == 5
        assert set(reader.manifest.documents) == {"a.txt", "b.pdf"}
        assert [d.doc_id for d in reader.documents()] == ["a.txt", "b.pdf"]
        doc, chunks, vectors, _ = make_doc("b.pdf", BETA)
        stored = reader.document("b.pdf")
        assert stored is not None and stored.text == doc.text and stored.sections == doc.sections
        assert reader.document("nope.txt") is None

        ids = reader.doc_chunk_ids("b.pdf")
        assert ids == [chunk_id_for("b.pdf", doc.content_hash, c.start, c.end) for c in chunks]
        got = reader.chunks([*ids, 12345])
        assert [got[i] for i in ids] == chunks  # includes page numbers; unknown id absent
        assert [got[i].page for i in ids] == [1, 2]
        np.testing.assert_allclose(reader.vectors(ids[::-1]), vectors[::-1], atol=1e-6)
        with pytest.raises(KeyError):
            reader.vectors([12345])
        assert reader.vectors([]).shape == (0, 16) and reader.chunks([]) == {}

        top = reader.dense_search(vectors[1], 3)
        assert top[0][0] == ids[1] and top[0][1] == pytest.approx(1.0, abs=1e-4)
        assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)
        hits = reader.lexical_search(["5182家"], 10)
        assert [cid for cid, _ in hits] == [reader.doc_chunk_ids("a.txt")[0]] and hits[0][1] > 0
        assert reader.lexical_search(["没有这个词"], 10) == []
        assert reader.term_idf("从未出现") > reader.term_idf("5182家")
    finally:
        reader.close()


def test_aborted_build_is_invisible(store_factory: StoreFactory) -> None:
    store = store_factory()
    first = _publish(store, None, {"a.txt": (ALPHA, "1")}, [])
    reader = _open_current(store)
    writer = store.begin(reader, manifest())
    writer.add_document(*make_doc("c.txt", GAMMA))
    assert store.current() == first and store.published() == [first]  # before publish
    writer.abort()
    writer.abort()  # idempotent
    assert store.current() == first and store.published() == [first]
    again = _open_current(store)
    assert again.chunk_count == 3 and again.lexical_search(["4242个"], 5) == []
    again.close()
    reader.close()


def test_incremental_copy_keeps_ids_vectors_and_drops_the_rest(store_factory: StoreFactory) -> None:
    store = store_factory()
    _publish(store, None, {"a.txt": (ALPHA, "1"), "b.pdf": (BETA, "1")}, [])
    v1 = _open_current(store)
    a_ids = v1.doc_chunk_ids("a.txt")
    a_vectors = v1.vectors(a_ids)
    old_b = v1.doc_chunk_ids("b.pdf")
    # a unchanged (copied), b removed, c added
    v2_name = _publish(store, v1, {"c.txt": (GAMMA, "1")}, ["a.txt"])
    v2 = store.open(v2_name)
    try:
        assert v2.doc_chunk_ids("a.txt") == a_ids
        np.testing.assert_allclose(v2.vectors(a_ids), a_vectors, atol=1e-6)
        assert v2.chunks(old_b) == {} and v2.document("b.pdf") is None
        assert set(v2.manifest.documents) == {"a.txt", "c.txt"} and v2.chunk_count == 4
        assert v2.manifest.documents["a.txt"] == v1.manifest.documents["a.txt"]
        hit = v2.lexical_search(["中欧班列"], 5)
        assert hit and hit[0][0] == a_ids[1]  # copied tokens are searchable
        assert v2.dense_search(a_vectors[2], 1)[0][0] == a_ids[2]  # copied vectors too
        # the old version is immutable and still readable
        assert v1.chunk_count == 5 and v1.chunks(old_b)
    finally:
        v1.close()
        v2.close()


def test_ids_are_stable_and_fit_sqlite_integer(store_factory: StoreFactory) -> None:
    store = store_factory()
    _publish(store, None, {"a.txt": (ALPHA, "1")}, [])
    first = _open_current(store)
    ids = first.doc_chunk_ids("a.txt")
    first.close()
    _publish(store, None, {"a.txt": (ALPHA, "1")}, [])  # a full rebuild of the same text
    second = _open_current(store)
    assert second.doc_chunk_ids("a.txt") == ids
    assert all(0 < i <= MAX_CHUNK_ID for i in ids) and len(set(ids)) == len(ids)
    second.close()
    _publish(store, None, {"a.txt": (ALPHA, "2")}, [])  # changed content: new ids
    third = _open_current(store)
    assert not set(third.doc_chunk_ids("a.txt")) & set(ids)
    third.close()


def test_copy_of_unknown_document_raises(store_factory: StoreFactory) -> None:
    store = store_factory()
    writer = store.begin(None, manifest())
    with pytest.raises(KeyError):
        writer.copy_document("a.txt")
    writer.abort()


def test_rollback_walks_the_published_history(store_factory: StoreFactory) -> None:
    store = store_factory()
    v1 = _publish(store, None, {"a.txt": (ALPHA, "1")}, [])
    v2 = _publish(store, None, {"a.txt": (ALPHA, "2")}, [])
    assert store.published() == [v1, v2]
    assert store.rollback() == v1
    assert store.current() == v1 and store.published() == [v1]
    with pytest.raises(FileNotFoundError):
        store.rollback()
    reader = _open_current(store)
    assert reader.manifest.documents["a.txt"].content_hash == "hash-a.txt-1"
    reader.close()


def test_cleanup_keeps_the_newest_published_versions(store_factory: StoreFactory) -> None:
    store = store_factory()
    names = [_publish(store, None, {"a.txt": (ALPHA, str(i))}, []) for i in range(4)]
    with store.build_lock():
        store.cleanup(keep=2)
    assert store.published() == names[2:]
    assert store.current() == names[3]
    store.open(names[2]).close()  # the rollback version is intact
    with pytest.raises(IndexDamagedError):
        store.open(names[0])


def test_empty_version_searches_return_nothing(store_factory: StoreFactory) -> None:
    store = store_factory()
    version = _publish(store, None, {}, [])
    reader = store.open(version)
    assert reader.chunk_count == 0 and reader.documents() == []
    assert reader.dense_search(np.ones(16, np.float32) / 4.0, 5) == []
    assert reader.lexical_search(["成渝"], 5) == []
    reader.close()


def test_build_lock_is_exclusive(store_factory: StoreFactory) -> None:
    store, other = store_factory(), store_factory()
    with store.build_lock(), pytest.raises(BuildInProgressError), other.build_lock():
        pass
    with other.build_lock():
        pass


def test_unknown_version_is_reported_as_damaged(store_factory: StoreFactory) -> None:
    store = store_factory()
    _publish(store, None, {"a.txt": (ALPHA, "1")}, [])
    with pytest.raises(IndexDamagedError) as info:
        store.open("v20000101T000000000000Z")
    assert info.value.version == "v20000101T000000000000Z" and info.value.reason


def test_document_flags_survive_add_and_copy(store_factory: StoreFactory) -> None:
    store = store_factory()
    doc, chunks, vectors, tokens = make_doc("scan.pdf", BETA)
    writer = store.begin(None, manifest())
    writer.add_document(dataclasses.replace(doc, ocr=True), chunks, vectors, tokens)
    first = store.open(writer.publish())
    second_writer = store.begin(first, manifest())
    second_writer.copy_document("scan.pdf")
    second = store.open(second_writer.publish())
    for reader in (first, second):
        stored = reader.document("scan.pdf")
        assert stored is not None and stored.ocr
        assert [d.ocr for d in reader.documents()] == [True]
        ids = reader.doc_chunk_ids("scan.pdf")
        by_id = reader.chunks(ids)
        assert [by_id[i].page for i in ids] == [1, 2]
        reader.close()


def test_sentence_states_survive_add_and_copy(store_factory: StoreFactory) -> None:
    """A chunk's late-chunked sentence states come back byte for byte, also from a version
    that copied the document; a manifest without states reads chunks without them."""
    store = store_factory()
    doc, chunks, vectors, tokens = make_doc("a.txt", ALPHA)
    blobs = [np.full((1, 4), i + 0.5, np.float16).tobytes() for i in range(len(chunks))]
    with_states = [dataclasses.replace(c, states=b) for c, b in zip(chunks, blobs, strict=True)]
    m = dataclasses.replace(manifest(), sentence_states=True)
    writer = store.begin(None, m)
    writer.add_document(doc, with_states, vectors, tokens)
    first = store.open(writer.publish())
    second_writer = store.begin(first, m)
    second_writer.copy_document("a.txt")
    second_writer.add_document(*make_doc("b.txt", BETA))
    second = store.open(second_writer.publish())
    try:
        assert second.manifest.sentence_states
        for reader in (first, second):
            ids = reader.doc_chunk_ids("a.txt")
            assert [reader.chunks(ids)[i].states for i in ids] == blobs
        ids = second.doc_chunk_ids("b.txt")
        assert [second.chunks(ids)[i].states for i in ids] == [None, None]
    finally:
        first.close()
        second.close()
