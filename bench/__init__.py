"""Benchmarks: quality (seeds dev, CMRC 2018), latency, build and scale; see run_all.py."""
