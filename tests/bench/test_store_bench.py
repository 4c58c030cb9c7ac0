"""Keep bench/store_bench.py runnable on tiny data (no timing asserts)."""

from __future__ import annotations

from bench.store_bench import bench_hnsw


def test_hnsw_bench_appends_then_rebuilds() -> None:
    text = bench_hnsw(n=1_000, new=100, ann_threshold=500)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "s |" in line]
    kinds = [row.split("|")[3].split()[0] for row in rows[1:]]  # after the header
    assert kinds == ["rebuilt", "appended", "rebuilt"]
    assert "faster than rebuilding" in text
