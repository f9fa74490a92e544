"""The vector store seam, and FAISS as the embedded default.

`VectorStore` is all the rest of `qa` knows: build from vectors whose row numbers are the
chunk rows, search, save, load. A distributed store would implement the same four calls.
FAISS's `(D, I)` arrays with -1 padding are converted to `Hit`s here and go no further.
"""

from __future__ import annotations

import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from qa.errors import IndexCorruptError

log = logging.getLogger(__name__)

FAISS_FILE = "vectors.faiss"


class Hit(NamedTuple):
    row: int
    score: float  # inner product of unit vectors: the cosine


class VectorStore(ABC):
    kind: str

    @abstractmethod
    def search(self, queries: np.ndarray, k: int) -> list[list[Hit]]:
        """Best `k` rows per query (fewer when the store holds fewer), best first."""

    @abstractmethod
    def save(self, directory: Path) -> list[str]:
        """Write the store into `directory`; returns the file names written."""

    @abstractmethod
    def __len__(self) -> int: ...


class FaissStore(VectorStore):
    """Exact inner-product search (flat) below `hnsw_threshold` vectors, HNSW above it.

    Flat search is exact and takes a few milliseconds up to ~20,000 vectors on two cores;
    past that HNSW keeps a question under a millisecond (tests/benchmarks/vector_store.py),
    with efConstruction 128 for recall >= 0.96 on real embeddings (bench/FINDINGS.md).
    """

    HNSW_M = 32
    HNSW_EF_CONSTRUCTION = 128
    HNSW_EF_SEARCH = 128

    def __init__(self, index):
        self._index = index
        self.kind = "hnsw" if "HNSW" in type(index).__name__ else "flat"

    @classmethod
    def build(cls, vectors: np.ndarray, *, hnsw_threshold: int) -> FaissStore:
        vectors = np.asarray(vectors, dtype=np.float32)
        return cls.build_from_blocks([vectors], len(vectors), vectors.shape[1], hnsw_threshold=hnsw_threshold)

    @classmethod
    def build_from_blocks(
        cls, blocks: Iterable[np.ndarray], count: int, dim: int, *, hnsw_threshold: int
    ) -> FaissStore:
        """The store over `count` vectors given in blocks (a build streams them from disk;
        FAISS keeps its own copy, so holding them all as well would double the memory)."""
        import faiss

        # faiss 1.15 raised this to 128000, which makes batched flat search ~12x slower.
        faiss.cvar.distance_compute_blas_threshold = 20
        if count >= hnsw_threshold:
            index = faiss.IndexHNSWFlat(dim, cls.HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = cls.HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = cls.HNSW_EF_SEARCH
        else:
            index = faiss.IndexFlatIP(dim)
        for block in blocks:
            if len(block):
                index.add(np.ascontiguousarray(block, dtype=np.float32))
        return cls(index)

    @classmethod
    def load(cls, directory: Path) -> FaissStore:
        import faiss

        faiss.cvar.distance_compute_blas_threshold = 20
        try:
            index = faiss.read_index(str(directory / FAISS_FILE))
        except RuntimeError as exc:
            raise IndexCorruptError(
                f"the vector index in {directory} cannot be read ({str(exc).splitlines()[0]}): "
                "run `qa index --rebuild`"
            ) from exc
        if hasattr(index, "hnsw"):
            index.hnsw.efSearch = cls.HNSW_EF_SEARCH
        return cls(index)

    def search(self, queries: np.ndarray, k: int) -> list[list[Hit]]:
        import faiss

        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, self._index.ntotal)
        if k <= 0:
            return [[] for _ in queries]
        # For one question FAISS splits the scan across OpenMP threads, and on a busy
        # two-core machine their spin-waits made a 10k-vector search 15x slower (16 ms vs
        # 1 ms). Batches still use every core. The OpenMP runtime is shared with torch, so
        # the previous count is restored: left at 1 it slowed question encoding by ~30%.
        previous = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1 if len(queries) < 8 else (os.cpu_count() or 1))
        try:
            scores, rows = self._index.search(queries, k)
        finally:
            faiss.omp_set_num_threads(previous)
        return [
            [Hit(int(r), float(s)) for r, s in zip(row_ids, row_scores) if r >= 0]
            for row_ids, row_scores in zip(rows, scores)
        ]

    def save(self, directory: Path) -> list[str]:
        import faiss

        faiss.write_index(self._index, str(directory / FAISS_FILE))
        return [FAISS_FILE]

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        return int(self._index.d)
