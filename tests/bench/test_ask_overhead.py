"""bench/ask_overhead.py's clients and its encode floor, against a real ``wenda serve``."""

from __future__ import annotations

from pathlib import Path

from wenda.index.embedding.base import HashingEmbedder

from bench.ask_overhead import bare_encode, httpx_asks, stdlib_asks
from tests.api.serve_process import ServeProcess

QUESTIONS = ["成都的别称是什么？", "重庆的别称是什么？"]


def test_clients_read_the_servers_answers(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "cities.txt").write_text("成都别称蓉城。重庆别称山城。", "utf-8")
    with ServeProcess(tmp_path) as server:
        server.wait_for(lambda: server.get("/readyz").status_code == 200, 120)
        wall, took = stdlib_asks(server.port, QUESTIONS, repeats=2)
        assert len(wall) == len(took) == 4
        assert all(w > t >= 0 for w, t in zip(wall, took, strict=True))  # took is inside wall
        assert len(httpx_asks(server.url, QUESTIONS, repeats=1)) == 2


def test_bare_encode_times_every_question() -> None:
    times = bare_encode(HashingEmbedder(64), QUESTIONS, repeats=3)
    assert len(times) == 6 and all(t > 0 for t in times)
