"""Vector files of consecutive chunks, possibly cut across several folders, read as one run.

A generation holds one set of vector files for all its chunks; a build's freshly embedded
chunks sit in shards (qa/index/embedding_shards.py), one folder per few hundred chunks, each
with the same files. `VectorRun` numbers the rows of such a sequence of folders as if
they were one set of files and yields any range of rows in bounded blocks, so a build
copies vectors from the previous generation and from its shards without holding them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from qa.index.npy_stream import NpyRows

EMBEDDINGS = "embeddings.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
VECTOR_FILES = (EMBEDDINGS, SENTENCE_VECTORS)


class VectorRun:
    def __init__(self, folders: list[Path]):
        self.folders = [Path(f) for f in folders]
        # Row counts of each file in each folder.
        self._starts: dict[str, list[int]] = {}
        for name in VECTOR_FILES:
            starts = [0]
            for folder in self.folders:
                with NpyRows(folder / name) as rows:
                    starts.append(starts[-1] + len(rows))
            self._starts[name] = starts

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
                yield from rows.blocks(lo - starts[i], hi - starts[i])
