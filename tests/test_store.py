"""The FAISS store behind the VectorStore seam: exact flat search, HNSW above a size."""

from __future__ import annotations

import numpy as np

from qa.index.store import FaissStore, Hit


def unit(rows: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_flat_search_is_exact_and_best_first(tmp_path):
    vectors = unit(200)
    store = FaissStore.build(vectors, hnsw_threshold=10_000)
    assert store.kind == "flat" and len(store) == 200
    hits = store.search(vectors[7], 5)[0]
    assert hits[0] == Hit(7, hits[0].score) and abs(hits[0].score - 1.0) < 1e-5
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    expected = np.argsort(-(vectors @ vectors[7]))[:5].tolist()
    assert [h.row for h in hits] == expected


def test_asking_for_more_than_there_is_returns_no_padding():
    store = FaissStore.build(unit(3), hnsw_threshold=10_000)
    assert len(store.search(unit(1, seed=1), 10)[0]) == 3
    empty = FaissStore.build(np.zeros((0, 32), np.float32), hnsw_threshold=10_000)
    assert empty.search(unit(1), 5) == [[]]


def test_hnsw_above_the_threshold_and_save_load_round_trip(tmp_path):
    vectors = unit(2000, seed=3)
    store = FaissStore.build(vectors, hnsw_threshold=1000)
    assert store.kind == "hnsw"
    store.save(tmp_path)
    loaded = FaissStore.load(tmp_path)
    assert loaded.kind == "hnsw" and len(loaded) == 2000
    queries = unit(50, seed=4)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    found = loaded.search(queries, 10)
    recall = np.mean([len({h.row for h in f} & set(e.tolist())) / 10 for f, e in zip(found, exact)])
    assert recall >= 0.95


def test_single_question_search_leaves_the_openmp_thread_count_as_it_was():
    # torch shares FAISS's OpenMP runtime: a count left at 1 slowed question encoding.
    import faiss

    store = FaissStore.build(unit(100), hnsw_threshold=10_000)
    before = faiss.omp_get_max_threads()
    store.search(unit(20, seed=2), 5)
    store.search(unit(1, seed=1)[0], 5)
    assert faiss.omp_get_max_threads() == before
