"""Vector files of consecutive chunks, possibly cut across several folders, read as one run.

A generation holds one set of vector files for all its chunks; a build's freshly embedded
chunks sit in shards (qa/index/embedding_shards.py), one folder per few hundred chunks, each
with the same files. `VectorRun` numbers the rows of such a sequence of folders as if
they were one set of files and yields any range of rows in bounded blocks, so a build
copies vectors from the previous generation and from its shards without holding them.

Token spans' first column is a chunk row: within a folder it counts from that folder's
first chunk, in a run from the run's first chunk (`rows` shifts it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from qa.index.npy_stream import NpyRows

EMBEDDINGS = "embeddings.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
TOKEN_VECTORS = "token_vectors.npy"
TOKEN_SPANS = "token_spans.npy"
VECTOR_FILES = (EMBEDDINGS, SENTENCE_VECTORS, TOKEN_VECTORS, TOKEN_SPANS)


class VectorRun:
    def __init__(self, folders: list[Path]):
        self.folders = [Path(f) for f in folders]
        # Row counts of each file in each folder; token spans count like token vectors.
        self._starts: dict[str, list[int]] = {}
        for name in (EMBEDDINGS, SENTENCE_VECTORS, TOKEN_VECTORS):
            starts = [0]
            for folder in self.folders:
                with NpyRows(folder / name) as rows:
                    starts.append(starts[-1] + len(rows))
            self._starts[name] = starts
        self._starts[TOKEN_SPANS] = self._starts[TOKEN_VECTORS]

    def __len__(self) -> int:
        """Chunks in the run."""
        return self._starts[EMBEDDINGS][-1]

    def count(self, name: str) -> int:
        return self._starts[name][-1]

    def rows(self, name: str, start: int, stop: int) -> Iterator[np.ndarray]:
        """Rows `start:stop` of file `name` over the whole run, in bounded blocks."""
        starts = self._starts[name]
        for i, folder in enumerate(self.folders):
            lo, hi = max(start, starts[i]), min(stop, starts[i + 1])
            if lo >= hi:
                continue
            with NpyRows(folder / name) as rows:
                for block in rows.blocks(lo - starts[i], hi - starts[i]):
                    if name == TOKEN_SPANS:
                        block[:, 0] += self._starts[EMBEDDINGS][i]
                    yield block

    def token_counts(self) -> np.ndarray:
        """Word pieces stored per chunk of the run (int64, one per chunk)."""
        counts = np.zeros(len(self), np.int64)
        for block in self.rows(TOKEN_SPANS, 0, self.count(TOKEN_SPANS)):
            counts += np.bincount(block[:, 0], minlength=len(self))
        return counts
