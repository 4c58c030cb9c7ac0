"""Local store above the ANN threshold: HNSW grows by appending when nothing was removed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from wenda.index.store.dense import DenseParams
from wenda.index.store.local import LocalStore
from wenda.index.store.local_writer import LocalWriter

from tests.index.store.conftest import make_doc, manifest

SENTENCES = [f"词{i} 共同 内容{i % 7}" for i in range(12)]


def _publish(store: LocalStore, new: list[str], copy: list[str]) -> tuple[str, str]:
    version = store.current()
    previous = store.open(version) if version else None
    writer = store.begin(previous, manifest())
    assert isinstance(writer, LocalWriter)
    for doc_id in copy:
        writer.copy_document(doc_id)
    for doc_id in new:
        writer.add_document(*make_doc(doc_id, [f"{doc_id} {s}" for s in SENTENCES]))
    name = writer.publish()
    if previous is not None:
        previous.close()
    return name, writer.dense_build


def test_hnsw_is_appended_when_all_kept_and_rebuilt_after_a_removal(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "idx", DenseParams(ann_threshold=20, hnsw_m=8))
    docs = [f"d{i}.txt" for i in range(3)]
    _, first = _publish(store, docs, [])
    assert first.startswith("rebuilt")
    _, second = _publish(store, ["d3.txt"], docs)
    assert second.startswith("appended")
    reader = store.open(store.current() or "")
    try:
        assert reader.manifest.dense_index == "hnsw" and reader.chunk_count == 48
        assert reader.dense.ntotal == 48
        for doc_id in ("d0.txt", "d3.txt"):  # old and new rows: FAISS position ↔ chunk id
            ids = reader.doc_chunk_ids(doc_id)
            vectors = reader.vectors(ids)
            found = [reader.dense_search(v, 1)[0][0] for v in vectors]
            assert found == ids
        np.testing.assert_allclose(np.linalg.norm(reader.vector_rows, axis=1), 1.0, atol=1e-5)
    finally:
        reader.close()
    _, third = _publish(store, [], ["d0.txt", "d1.txt", "d3.txt"])  # d2 removed
    assert third.startswith("rebuilt")
    reader = store.open(store.current() or "")
    try:
        assert reader.chunk_count == 36 and reader.dense.ntotal == 36
        ids = reader.doc_chunk_ids("d3.txt")
        assert [reader.dense_search(v, 1)[0][0] for v in reader.vectors(ids)] == ids
    finally:
        reader.close()
