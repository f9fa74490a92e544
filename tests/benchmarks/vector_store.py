"""Flat vs HNSW FAISS search at growing sizes, to choose `IndexSettings.hnsw_threshold`.

Random unit vectors of the model's width (384); for each size: build time, single-query
latency p50 (the `ask` path searches one question at a time) and HNSW recall@10 against
exact search. Not a test.

    python tests/benchmarks/vector_store.py [--sizes 10000 50000 200000]
    python tests/benchmarks/vector_store.py --index indexes/html [--grow-to 100000]

With `--index`, the vectors are an index's stored chunk vectors (real embeddings; IVF lost
5-20 points of recall on them where synthetic clusters hid it, issue 12) and the queries
200 of its sentence vectors (each near its own chunk, as a question is near its answer);
flat, HNSW at the store's settings and IVF are compared. `--grow-to N` adds copies of
the real vectors, each moved by a little noise, up to N rows (say so when quoting).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from qa.index.store import FaissStore


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


def recall_at_10(store, queries: np.ndarray, exact: list[set[int]]) -> float:
    approx = [{h.row for h in hits} for hits in store.search(queries, 10)]
    return float(np.mean([len(a & e) / 10 for a, e in zip(approx, exact)]))


class _IvfStore(FaissStore):
    """IVF-flat at nlist = 4 sqrt(n), searched with `nprobe` lists: measured, not shipped."""

    @classmethod
    def build_ivf(cls, vectors: np.ndarray, nprobe: int) -> FaissStore:
        import faiss

        nlist = max(1, int(4 * np.sqrt(len(vectors))))
        quantizer = faiss.IndexFlatIP(vectors.shape[1])
        index = faiss.IndexIVFFlat(quantizer, vectors.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.add(vectors)
        index.nprobe = nprobe
        store = cls(index)
        store._quantizer = quantizer  # keep it alive as long as the index
        return store


def real_vectors(index_dir, grow_to: int | None, rng) -> tuple[np.ndarray, np.ndarray]:
    from qa.index.generations import current_generation

    generation = current_generation(index_dir)
    vectors = np.load(generation / "embeddings.npy")
    sentences = np.load(generation / "sentence_vectors.npy", mmap_mode="r")
    queries = np.asarray(sentences[np.sort(rng.choice(len(sentences), min(200, len(sentences)), replace=False))], np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    if grow_to and grow_to > len(vectors):
        copies = [vectors]
        while sum(len(c) for c in copies) < grow_to:
            moved = vectors + 0.05 * unit(len(vectors), rng)
            copies.append(moved / np.linalg.norm(moved, axis=1, keepdims=True))
        vectors = np.concatenate(copies)[:grow_to]
    return np.ascontiguousarray(vectors, np.float32), queries


def compare_on_real(index_dir, grow_to: int | None) -> None:
    rng = np.random.default_rng(0)
    vectors, queries = real_vectors(index_dir, grow_to, rng)
    print(f"{len(vectors):,} stored chunk vectors of {index_dir}{' (grown with noisy copies)' if grow_to else ''}; "
          "200 sentence vectors as queries")
    flat = FaissStore.build(vectors, hnsw_threshold=len(vectors) + 1)
    exact = [{h.row for h in hits} for hits in flat.search(queries, 10)]
    print(f"{'store':<22} {'build s':>8} {'query ms p50':>13} {'recall@10':>10}")
    print(f"{'flat':<22} {0.0:>8.1f} {p50_ms(flat, queries):>13.2f} {1.0:>10.3f}")
    started = time.perf_counter()
    hnsw = FaissStore.build(vectors, hnsw_threshold=0)
    built = time.perf_counter() - started
    print(f"{'hnsw M32 efC128 efS128':<22} {built:>8.1f} {p50_ms(hnsw, queries):>13.2f} {recall_at_10(hnsw, queries, exact):>10.3f}")
    for nprobe in (8, 32):
        started = time.perf_counter()
        ivf = _IvfStore.build_ivf(vectors, nprobe)
        built = time.perf_counter() - started
        name = f"ivf nprobe {nprobe}"
        print(f"{name:<22} {built:>8.1f} {p50_ms(ivf, queries):>13.2f} {recall_at_10(ivf, queries, exact):>10.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    parser.add_argument("--index", type=Path, help="measure on this index's stored vectors")
    parser.add_argument("--grow-to", type=int, help="with --index: noisy copies up to this many rows")
    args = parser.parse_args()
    if args.index:
        compare_on_real(args.index, args.grow_to)
        return
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
