"""Token vectors of SQuAD passages and questions, encoded as `qa` encodes them.

A passage is a chunk of a SQuAD paragraph made by the index's own Chunker, encoded by the
bundled model in batches (as `qa index` does, bf16 where the CPU has it); a question is
encoded in fp32 (as `Pipeline.ask` does). So the reader trains on the very vectors it
reads at question time. The arrays are cached in a folder: encoding 130k questions and
19k paragraphs is the slow part of training (~15 min here), training runs may reuse it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.config import IndexSettings
from qa.index.manifest import sha256_file as file_sha256  # noqa: F401 (re-exported: training stamps its input)
from qa.ingest.chunking import Chunker
from qa.reader.squad import SquadParagraph
from qa.types import Span

FEATURES_VERSION = 1


@dataclass(frozen=True)
class TokenTable:
    """Many texts' token vectors in one array: rows `bounds[i]:bounds[i+1]` are text i's."""

    vectors: np.ndarray  # (tokens, dim) float16, unit rows
    spans: np.ndarray  # (tokens, 2) int32 character offsets into text i
    bounds: np.ndarray  # (texts + 1,) int64

    def rows(self, i: int) -> slice:
        return slice(int(self.bounds[i]), int(self.bounds[i + 1]))

    def save(self, folder: Path, prefix: str) -> None:
        for name in ("vectors", "spans", "bounds"):
            np.save(folder / f"{prefix}_{name}.npy", getattr(self, name), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, prefix: str, mmap: bool = True) -> TokenTable:
        mode = "r" if mmap else None
        return cls(*(np.load(folder / f"{prefix}_{n}.npy", mmap_mode=mode) for n in ("vectors", "spans", "bounds")))


@dataclass(frozen=True)
class Features:
    """Encoded passages and questions of one SQuAD file."""

    passages: TokenTable
    passage_meta: np.ndarray  # (passages, 3) int64: paragraph, start, end (chars in its context)
    passage_vectors: np.ndarray  # (passages, dim) float16, pooled: picks hard negatives
    questions: TokenTable
    question_vectors: np.ndarray  # (questions, dim) float16


def _encode(embedder, texts: Sequence[str], on_batch) -> tuple[TokenTable, np.ndarray]:
    pooled, _, tokens = embedder.embed_with_tokens(texts, [[] for _ in texts], on_batch=on_batch)
    lengths = np.array([len(t.spans) for t in tokens], np.int64)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    vectors = np.concatenate([t.vectors for t in tokens]).astype(np.float16)
    spans = np.concatenate([t.spans for t in tokens]).astype(np.int32)
    return TokenTable(vectors, spans, bounds), pooled.astype(np.float16)


def chunk_paragraphs(paragraphs: Sequence[SquadParagraph], embedder) -> list[tuple[int, int, int]]:
    """(paragraph, start, end) of every chunk, cut by the index's own Chunker."""
    chunker = Chunker(IndexSettings(), embedder.count_word_pieces, embedder.max_word_pieces)
    out = []
    for i, p in enumerate(paragraphs):
        _, chunks = chunker.chunk(p.context, str(i), [Span(0, len(p.context))])
        out.extend((i, c.start, c.end) for c in chunks)
    return out


def extract_features(
    paragraphs: Sequence[SquadParagraph],
    folder: Path,
    source_sha256: str,
    *,
    embedder=None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Features:
    """Encode (or reuse from `folder`) the passages and questions of `paragraphs`."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = {"version": FEATURES_VERSION, "source_sha256": source_sha256, "paragraphs": len(paragraphs)}
    stamp_file = folder / "features.json"
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp:
        return load_features(folder)
    if embedder is None:
        from qa.index.embedding import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder(batch_size=32)
    meta = np.array(chunk_paragraphs(paragraphs, embedder), np.int64).reshape(-1, 3)
    texts = [paragraphs[p].context[a:b] for p, a, b in meta]
    done = [0]

    def tick(stage, total):
        def on_batch(n):
            done[0] += n
            if progress:
                progress(stage, done[0], total)

        done[0] = 0
        return on_batch

    passages, passage_vectors = _encode(embedder, texts, tick("passages", len(texts)))
    questions = [q.question for p in paragraphs for q in p.questions]
    # Questions run in fp32 at ask time (one at a time): encode them the same way here.
    bf16, embedder.bf16 = getattr(embedder, "bf16", False), False
    try:
        question_table, question_vectors = _encode(embedder, questions, tick("questions", len(questions)))
    finally:
        embedder.bf16 = bf16
    passages.save(folder, "passage")
    question_table.save(folder, "question")
    np.save(folder / "passage_meta.npy", meta, allow_pickle=False)
    np.save(folder / "passage_pooled.npy", passage_vectors, allow_pickle=False)
    np.save(folder / "question_pooled.npy", question_vectors, allow_pickle=False)
    stamp_file.write_text(json.dumps(stamp))
    return load_features(folder)


def load_features(folder: Path) -> Features:
    return Features(
        passages=TokenTable.load(folder, "passage"),
        passage_meta=np.load(folder / "passage_meta.npy"),
        passage_vectors=np.load(folder / "passage_pooled.npy"),
        questions=TokenTable.load(folder, "question"),
        question_vectors=np.load(folder / "question_pooled.npy"),
    )
