"""bench/ask_overhead.py's clients and its encode floor, against a real ``wenda serve``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from wenda.index.embedding.base import HashingEmbedder

from bench.ask_overhead import bare_encode, httpx_asks, stdlib_asks
from tests.api.serve_process import ServeProcess

QUESTIONS = ["成都的别称是什么？", "重庆的别称是什么？"]


def _run_with_path(code: str, pythonpath: str, cwd: Path | None = None) -> str:
    """stdout of ``python -c code`` in a fresh process with only ``pythonpath`` on the path."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    ).stdout


def _head() -> str:
    from bench.common import REPO

    return subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


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


def test_serve_vs_commit_levels_and_link_tree(tmp_path: Path) -> None:
    """The comparison's load levels read real answers, and its link tree makes another
    checkout's folders the ``wenda`` package of a subprocess."""
    import asyncio

    from bench.common import link_tree
    from bench.serve_vs_commit import level

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "cities.txt").write_text("成都别称蓉城。重庆别称山城。", "utf-8")
    with ServeProcess(tmp_path) as server:
        server.wait_for(lambda: server.get("/readyz").status_code == 200, 120)
        rps, p50 = asyncio.run(level(server.url, 2, 6, QUESTIONS))
        assert rps > 0 and p50 > 0
    tree = tmp_path / "tree"
    for part in ("index", "api", "bot"):
        (tree / part).mkdir(parents=True)
        (tree / part / "marker.py").write_text(f"PART = {part!r}\n", "utf-8")
    path = link_tree(tree, tmp_path / "shim")
    probe = "import wenda.api.marker as m, wenda.index.marker as i; print(m.PART, i.PART)"
    assert _run_with_path(probe, path).split() == ["api", "index"]


def test_worktree_checks_a_commit_out_for_the_block_only(tmp_path: Path) -> None:
    from bench.common import REPO, worktree

    head = _head()
    with worktree(head, tmp_path / "tree") as tree:
        assert (tree / "README.md").read_bytes() == subprocess.run(
            ["git", "-C", str(REPO), "show", f"{head}:README.md"], capture_output=True, check=True
        ).stdout
    assert not (tmp_path / "tree").exists()
    listed = subprocess.run(
        ["git", "-C", str(REPO), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert str(tmp_path / "tree") not in listed


def test_checkout_package_runs_a_commit_from_before_and_after_the_wenda_layout(
    tmp_path: Path,
) -> None:
    """``build_vs_commit`` runs the baseline's own CLI: ``index.cli`` from the tree for a
    commit before the ``wenda.*`` layout, ``wenda.index.cli`` through a link tree after it."""
    from bench.build_vs_commit import BASELINE
    from bench.common import checkout_package, worktree

    for commit, package in ((BASELINE, "index"), (_head(), "wenda.index")):
        with worktree(commit, tmp_path / "tree") as tree:
            got, path = checkout_package(tree, tmp_path / f"shim_{package}")
            assert got == package
            probe = f"import {package}.cli as c; print(c.__file__)"
            out = _run_with_path(probe, path, cwd=tmp_path)
            assert Path(out.strip()).resolve() == (tree / "index" / "cli.py").resolve()
