"""An interrupted build resumes from the shards it saved, and ends with the very arrays of
an uninterrupted build (qa/index/embedding_shards.py)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.index import embedding_shards, generations
from qa.index.embedding import Embedder
from qa.index.indexing import build_index, load_index
from tests.conftest import ROOT
from tests.fakes import FakeEmbedder

SHARD = 4  # chunks per shard here, so that the seeds (22 chunks) make several shards


class Interrupted(Exception):
    pass


class CountingEmbedder(Embedder):
    """Another embedder, counting the chunks it embeds (all calls go to it unchanged)."""

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.model_id, self.dim, self.max_word_pieces = inner.model_id, inner.dim, inner.max_word_pieces
        self.model_sha256 = inner.model_sha256
        self.batch_size = getattr(inner, "batch_size", None)
        self.bf16 = getattr(inner, "bf16", None)
        self.embedded = 0

    def embed(self, texts, *, on_batch=None):
        return self.inner.embed(texts, on_batch=on_batch)

    def embed_with_spans(self, texts, spans, *, on_batch=None):
        self.embedded += len(texts)
        return self.inner.embed_with_spans(texts, spans, on_batch=on_batch)

    def count_word_pieces(self, text):
        return self.inner.count_word_pieces(text)


def arrays(index_dir: Path) -> dict[str, np.ndarray]:
    generation = generations.current_generation(index_dir)
    return {p.name: np.load(p, allow_pickle=False) for p in sorted(generation.glob("*.npy"))}


def assert_same_arrays(a: Path, b: Path) -> None:
    left, right = arrays(a), arrays(b)
    assert sorted(left) == sorted(right)
    assert {"embeddings.npy", "sentence_vectors.npy"} <= set(left)
    for name in left:
        assert left[name].dtype == right[name].dtype, name
        assert np.array_equal(left[name], right[name]), name


def interrupt_after(shards: int):
    def after_shard(k: int) -> None:
        if k == shards:
            raise Interrupted

    return after_shard


def test_an_interrupted_build_resumes_with_identical_arrays(seeds_copy, tmp_path, real_embedder, monkeypatch):
    monkeypatch.setattr(embedding_shards, "SHARD_CHUNKS", SHARD)
    whole = build_index(seeds_copy, tmp_path / "whole", embedder=real_embedder)
    assert whole.chunks > 3 * SHARD

    embedder = CountingEmbedder(real_embedder)
    with pytest.raises(Interrupted):
        build_index(seeds_copy, tmp_path / "resumed", embedder=embedder, after_shard=interrupt_after(2))
    assert generations.current_generation(tmp_path / "resumed") is None  # nothing published
    assert len(list(embedding_shards.building_dir(tmp_path / "resumed").iterdir())) == 2
    assert embedder.embedded == 2 * SHARD

    embedder.embedded = 0
    report = build_index(seeds_copy, tmp_path / "resumed", embedder=embedder)
    assert embedder.embedded == whole.chunks - 2 * SHARD  # only what was not on disk
    assert report.chunks == whole.chunks
    assert_same_arrays(tmp_path / "whole", tmp_path / "resumed")
    assert not embedding_shards.building_dir(tmp_path / "resumed").exists()  # published: gone
    load_index(tmp_path / "resumed", embedder=real_embedder)


def test_an_interrupted_update_resumes_too(seeds_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(embedding_shards, "SHARD_CHUNKS", SHARD)
    embedder = CountingEmbedder(FakeEmbedder())
    build_index(seeds_copy, tmp_path / "idx", embedder=embedder)
    sentence = "The probe number {n} carried a camera, a magnetometer and a radio built in its year. "
    (seeds_copy / "new.txt").write_text(  # 20 paragraphs of ~300 tokens: a chunk each
        "".join(sentence.format(n=n) * 16 + "\n\n" for n in range(20)), encoding="utf-8"
    )
    embedder.embedded = 0
    with pytest.raises(Interrupted):
        build_index(seeds_copy, tmp_path / "idx", embedder=embedder, after_shard=interrupt_after(3))
    embedder.embedded = 0
    report = build_index(seeds_copy, tmp_path / "idx", embedder=embedder)
    assert report.added == ("new.txt",)
    assert embedder.embedded == report.embedded_chunks - 3 * SHARD
    build_index(seeds_copy, tmp_path / "fresh", embedder=FakeEmbedder())
    assert_same_arrays(tmp_path / "fresh", tmp_path / "idx")


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from qa.index import embedding_shards
from qa.index.indexing import build_index
from tests.fakes import FakeEmbedder
embedding_shards.SHARD_CHUNKS = int(sys.argv[4])

def after_shard(k):
    if k == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # no clean-up of any kind runs

build_index(Path(sys.argv[2]), Path(sys.argv[3]), embedder=FakeEmbedder(), after_shard=after_shard)
"""


def test_a_build_killed_with_sigkill_resumes(seeds_copy, tmp_path, monkeypatch):
    run = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(ROOT), str(seeds_copy), str(tmp_path / "idx"), str(SHARD)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == -signal.SIGKILL, run.stderr
    assert len(list(embedding_shards.building_dir(tmp_path / "idx").iterdir())) == 3
    monkeypatch.setattr(embedding_shards, "SHARD_CHUNKS", SHARD)
    embedder = FakeEmbedder()  # the killed writer's own embedder: its shards apply
    report = build_index(seeds_copy, tmp_path / "idx", embedder=embedder)
    assert len(embedder.embedded) == report.chunks - 3 * SHARD
    build_index(seeds_copy, tmp_path / "whole", embedder=FakeEmbedder())
    assert_same_arrays(tmp_path / "whole", tmp_path / "idx")


def interrupted_fake_build(sources: Path, index_dir: Path, shards: int) -> CountingEmbedder:
    """A fake-model build of `sources` stopped after `shards` shards; its embedder, reset."""
    embedder = CountingEmbedder(FakeEmbedder())
    with pytest.raises(Interrupted):
        build_index(sources, index_dir, embedder=embedder, after_shard=interrupt_after(shards))
    embedder.embedded = 0
    return embedder


def test_a_damaged_shard_is_embedded_again(seeds_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(embedding_shards, "SHARD_CHUNKS", SHARD)
    embedder = interrupted_fake_build(seeds_copy, tmp_path / "idx", 2)
    shards = sorted(embedding_shards.building_dir(tmp_path / "idx").iterdir())
    victim = shards[0] / "embeddings.npy"
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF
    victim.write_bytes(bytes(data))
    report = build_index(seeds_copy, tmp_path / "idx", embedder=embedder)
    assert embedder.embedded == report.chunks - SHARD  # the damaged shard again, the other kept
    build_index(seeds_copy, tmp_path / "whole", embedder=FakeEmbedder())
    assert_same_arrays(tmp_path / "whole", tmp_path / "idx")


def test_other_settings_do_not_reuse_shards(seeds_copy, tmp_path, monkeypatch):
    from qa.config import IndexSettings

    monkeypatch.setattr(embedding_shards, "SHARD_CHUNKS", SHARD)
    embedder = interrupted_fake_build(seeds_copy, tmp_path / "idx", 2)
    report = build_index(
        seeds_copy, tmp_path / "idx", embedder=embedder, settings=IndexSettings(chunk_tokens=250)
    )
    assert embedder.embedded == report.chunks
