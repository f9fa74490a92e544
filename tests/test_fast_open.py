"""Opening an index for answering is cheap: one load, sizes and mtimes instead of hashes,
the words the sources hold read from BM25 instead of computed."""

from __future__ import annotations

import os

import pytest

from qa.errors import IndexCorruptError
from qa.index import indexing, manifest as mf
from qa.index.indexing import build_index, load_index
from qa.index.lexical import terms
from qa.pipeline import Pipeline
from tests.fakes import FakeEmbedder


@pytest.fixture
def built(seeds_copy, tmp_path):
    build_index(seeds_copy, tmp_path / "idx", embedder=FakeEmbedder())
    return seeds_copy, tmp_path / "idx"


def count_hashes(monkeypatch) -> list[str]:
    hashed: list[str] = []
    real = mf.sha256_file

    def counting(path):
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(mf, "sha256_file", counting)
    return hashed


def test_open_checks_sizes_and_mtimes_and_verify_hashes_everything(built, monkeypatch):
    _, index_dir = built
    hashed = count_hashes(monkeypatch)
    index = load_index(index_dir, embedder=FakeEmbedder(), verify=False)
    assert hashed == []
    load_index(index_dir, embedder=FakeEmbedder(), verify=True)
    assert sorted(hashed) == sorted(p.rsplit("/", 1)[-1] for p in index.manifest["artifacts"])


def test_a_same_size_edit_with_its_mtime_put_back_is_caught_by_verify_only(built):
    _, index_dir = built
    generation = indexing.generations.current_generation(index_dir)
    victim = generation / indexing.EMBEDDINGS
    stat = victim.stat()
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0x01
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    load_index(index_dir, embedder=FakeEmbedder(), verify=False)  # trusted: size and mtime as recorded
    with pytest.raises(IndexCorruptError, match="does not match its manifest"):
        load_index(index_dir, embedder=FakeEmbedder(), verify=True)


def test_a_touched_file_is_hashed_on_open(built):
    _, index_dir = built
    generation = indexing.generations.current_generation(index_dir)
    victim = generation / indexing.SENTENCE_VECTORS
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0x01
    victim.write_bytes(bytes(data))  # same size, new mtime
    with pytest.raises(IndexCorruptError, match="does not match its manifest"):
        load_index(index_dir, embedder=FakeEmbedder(), verify=False)


def test_pipeline_loads_an_up_to_date_index_once(built, monkeypatch):
    sources, index_dir = built
    loads = []
    real = indexing.load_index

    def counting(*args, **kwargs):
        loads.append(kwargs.get("verify"))
        return real(*args, **kwargs)

    monkeypatch.setattr(indexing, "load_index", counting)
    Pipeline.open(index_dir, sources=sources, embedder=FakeEmbedder())
    assert loads == [False]


def test_the_words_an_abstention_may_name_are_bm25_s_vocabulary_which_holds_every_sentence_s(built):
    """Why an abstention names a word ("nothing in the sources mentions X") is read from
    BM25's vocabulary: no pass over the sentences at the first question."""
    _, index_dir = built
    index = load_index(index_dir, embedder=FakeEmbedder())
    words = {w for sentence in index.sentence_list for w in terms(sentence.text)}
    assert words and all(index.lexical.knows(w) for w in words)
    assert not index.lexical.knows("zyzzyva")
