"""Embedding in shards kept on disk, so that a killed build resumes where it stopped.

A build embeds its new chunks, in the order they will be written, cut into shards of
SHARD_CHUNKS. Each finished shard is saved at once in `<index>/building/<key>/` (the
vector files of qa/index/vector_run.py and `shard.json` with their sizes and sha256), where
`key` is the sha256 of everything that decides those vectors: the model (id, files,
encoder settings), the chunking settings, and each chunk's offset, text and sentence
spans. The folder appears by rename only once complete, so a kill leaves either a whole
shard or none. The next build cuts the same shards from the same sources, finds the
finished ones, checks their hashes and embeds only the rest: the same texts go through
the model in the same batches, so the result is identical (byte for byte) to a build
that was never interrupted. `building/` is removed once a generation is published.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.config import IndexSettings
from qa.index import manifest as mf
from qa.index.embedding import Embedder
from qa.index.vector_run import EMBEDDINGS, SENTENCE_VECTORS, VECTOR_FILES
from qa.types import Chunk

log = logging.getLogger(__name__)

BUILDING = "building"
SHARD_FILE = "shard.json"
# 256 chunks: 16 model batches, a few seconds of work lost to a kill.
SHARD_CHUNKS = 256


@dataclass(frozen=True, slots=True)
class ShardInput:
    """One chunk to embed and the spans (relative to its text) of the sentences it pools."""

    chunk: Chunk
    spans: tuple[tuple[int, int], ...]


def cut(inputs: Iterator[ShardInput], size: int | None = None) -> Iterator[list[ShardInput]]:
    """Consecutive shards of `size` chunks (the last one shorter)."""
    size = size or SHARD_CHUNKS
    shard: list[ShardInput] = []
    for item in inputs:
        shard.append(item)
        if len(shard) == size:
            yield shard
            shard = []
    if shard:
        yield shard


def embedder_identity(embedder: Embedder, settings: IndexSettings) -> str:
    """What besides the texts decides the vectors, as canonical JSON."""
    return json.dumps(
        {
            "model": embedder.model_id,
            "dim": embedder.dim,
            "files": embedder.model_sha256,
            "encoder": type(embedder).__qualname__,
            # Batching and bf16 change the last bits of the vectors.
            "batch_size": getattr(embedder, "batch_size", None),
            "bf16": getattr(embedder, "bf16", None),
            "chunking": mf.chunking_settings(settings),
        },
        sort_keys=True,
    )


def shard_key(identity: str, shard: list[ShardInput]) -> str:
    digest = hashlib.sha256(identity.encode())
    for item in shard:
        digest.update(json.dumps([item.chunk.start, item.chunk.text, item.spans]).encode())
    return digest.hexdigest()


def building_dir(index_dir: Path) -> Path:
    return Path(index_dir) / BUILDING


def discard(index_dir: Path) -> None:
    """Remove what builds left to resume from (after a generation is published)."""
    shutil.rmtree(building_dir(index_dir), ignore_errors=True)


def _complete(folder: Path) -> bool:
    """A shard folder whose files match its `shard.json` (anything else is re-embedded)."""
    try:
        recorded = json.loads((folder / SHARD_FILE).read_text(encoding="utf-8"))
        return recorded == mf.artifact_entries(folder, list(VECTOR_FILES))
    except (OSError, ValueError):
        return False


def embed_shard(
    embedder: Embedder, shard: list[ShardInput], *, on_batch: Callable[[int], None] | None = None
) -> dict[str, np.ndarray]:
    """The vector files' arrays for one shard."""
    texts = [item.chunk.text for item in shard]
    vectors, span_vectors = embedder.embed_with_spans(texts, [list(item.spans) for item in shard], on_batch=on_batch)
    dim = embedder.dim
    sentence_vectors = [np.asarray(v, np.float32).reshape(-1, dim) for v in span_vectors]
    return {
        EMBEDDINGS: np.asarray(vectors, np.float32).reshape(-1, dim),
        # half the size; cosines agree to ~1e-3, plenty for ranking sentences
        SENTENCE_VECTORS: np.concatenate(sentence_vectors).astype(np.float16),
    }


def _save(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a shard beside its final name, then rename it into place (complete or absent)."""
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, array in arrays.items():
        with open(tmp / name, "wb") as f:
            np.save(f, array, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
    (tmp / SHARD_FILE).write_text(json.dumps(mf.artifact_entries(tmp, list(VECTOR_FILES))), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


def embed_in_shards(
    index_dir: Path,
    inputs: Iterator[ShardInput],
    *,
    embedder: Embedder,
    settings: IndexSettings,
    on_chunks: Callable[[int], None] | None = None,
    after_shard: Callable[[int], None] | None = None,
) -> list[Path]:
    """Embed `inputs` shard by shard, reusing finished shards; returns the shard folders
    in order. `on_chunks(n)` reports chunks done (embedded or found), `after_shard(k)`
    runs after the k-th shard is on disk (tests interrupt a build there)."""
    identity = embedder_identity(embedder, settings)
    root = building_dir(index_dir)
    folders = []
    reused = 0
    for k, shard in enumerate(cut(inputs), 1):
        folder = root / shard_key(identity, shard)
        if _complete(folder):
            reused += 1
            if on_chunks:
                on_chunks(len(shard))
        else:
            _save(folder, embed_shard(embedder, shard, on_batch=on_chunks))
        folders.append(folder)
        if after_shard:
            after_shard(k)
    if reused:
        log.info("resumed an interrupted build: %d of %d shards were already embedded", reused, len(folders))
    return folders
