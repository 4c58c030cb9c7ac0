"""Shared fixtures: a temporary copy of the seed corpus and settings that use it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from wenda.index.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SEED_CORPUS = REPO / "corpus"
SHARED = REPO.parent / "shared"
# The public passage fields of an answer (the API issue reuses them exactly).
PASSAGE_KEYS = frozenset(
    "n doc_id title section start end score text answer_start answer_end page".split()  # noqa: SIM905
)


def reproducible(max_examples: int, *suppress: HealthCheck) -> settings:
    """Hypothesis settings for the generated-input tests: the same cases on every run
    (derandomized, no example database), so a CI failure repeats on any machine; no
    deadline, since cases run real models and subprocesses (too slow is expected too)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, *suppress],
    )


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in sorted(SEED_CORPUS.glob("*.txt")):
        shutil.copy(path, corpus / path.name)
    return corpus


@pytest.fixture
def hashing_settings(tmp_path: Path, seed_corpus: Path) -> Settings:
    """Settings over the seed corpus with the deterministic test embedder."""
    return Settings(
        _env_file=None,
        corpus_dir=seed_corpus,
        index_dir=tmp_path / "idx",
        model="hashing",
        reload_check_seconds=0.0,
    )
