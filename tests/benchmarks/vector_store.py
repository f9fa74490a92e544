"""Flat vs HNSW FAISS search at growing sizes, to choose `IndexSettings.hnsw_threshold`.

Random unit vectors of the model's width (384); for each size: build time, single-query
latency p50 (the `ask` path searches one question at a time) and HNSW recall@10 against
exact search. Not a test.

    python tests/benchmarks/vector_store.py [--sizes 10000 50000 200000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from qa.store import FaissStore


def unit(rows: int, rng) -> np.ndarray:
    v = rng.standard_normal((rows, 384), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def p50_ms(store: FaissStore, queries: np.ndarray) -> float:
    times = []
    for q in queries:
        started = time.perf_counter()
        store.search(q, 50)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{os.cpu_count()} cores; k=50 per query, 200 queries")
    print(f"{'vectors':>9} {'flat ms':>8} {'hnsw build s':>13} {'hnsw ms':>8} {'recall@10':>10}")
    for n in args.sizes:
        # Clustered data, closer to real embeddings than uniform noise.
        centres = unit(max(1, n // 100), rng)
        vectors = centres[rng.integers(0, len(centres), n)] + 0.35 * unit(n, rng)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        queries = vectors[rng.integers(0, n, 200)] + 0.2 * unit(200, rng)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        flat = FaissStore.build(vectors, hnsw_threshold=n + 1)
        started = time.perf_counter()
        hnsw = FaissStore.build(vectors, hnsw_threshold=0)
        build_s = time.perf_counter() - started
        exact = [{h.row for h in hits} for hits in flat.search(queries, 10)]
        approx = [{h.row for h in hits} for hits in hnsw.search(queries, 10)]
        recall = np.mean([len(a & e) / 10 for a, e in zip(approx, exact)])
        print(f"{n:>9,} {p50_ms(flat, queries):>8.2f} {build_s:>13.1f} {p50_ms(hnsw, queries):>8.2f} {recall:>10.3f}")


if __name__ == "__main__":
    main()
