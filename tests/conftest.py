"""Shared fixtures. The real bundled model is loaded once per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a test must never reach a model hub

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
# Copies of the bench sets the tests use (tests/data/bench/README.md says where they come
# from), so the suite runs in a plain clone.
BENCH = ROOT / "tests" / "data" / "bench"
SUPERBOWL_SOURCES = BENCH / "superbowl" / "sources"


@pytest.fixture(scope="session")
def real_embedder():
    from qa.index.embedding import default_embedder

    embedder = default_embedder()
    embedder.warm_up()
    return embedder


@pytest.fixture
def fake_embedder():
    from tests.fakes import FakeEmbedder

    return FakeEmbedder()


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    """A private copy of seeds/ that a test may change."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target
