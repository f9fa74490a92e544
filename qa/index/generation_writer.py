"""Writing a generation's files from the parts a build gathered, streaming the vectors.

Each source contributes a `FilePart`: its document, sentences and chunks, and where its
vectors already are (rows of the previous generation, or of the shards just embedded).
The vector files are written a block of rows at a time (qa/index/npy_stream.py), so peak memory
does not grow with the token vectors, which are ~90% of an index. The vector search
structure is built from the written embeddings, also in blocks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.index.npy_stream import NpyAppender, NpyRows
from qa.index.store import FaissStore
from qa.index.vector_run import EMBEDDINGS, SENTENCE_VECTORS, TOKEN_SPANS, TOKEN_VECTORS, VectorRun
from qa.types import Chunk, Document, Sentence

DOCUMENTS = "documents.jsonl"
CHUNKS = "chunks.npy"
SENTENCES = "sentences.npy"


@dataclass(slots=True)
class FilePart:
    """Everything one source contributes to an index, its vectors by reference."""

    document: Document
    sentences: list[Sentence]
    chunks: list[Chunk]
    vectors: VectorRun  # where its vectors are
    first_chunk: int  # its first chunk's row in `vectors`
    first_sentence: int
    tokens: range  # its token rows in `vectors`


def write_documents(generation: Path, files: list[FilePart]) -> None:
    with open(generation / DOCUMENTS, "w", encoding="utf-8") as out:
        for f in files:
            d = f.document
            row = {
                "source": d.source,
                "kind": d.kind,
                "sha256": d.sha256,
                "size": d.size,
                "mtime": d.mtime,
                "page_starts": list(d.page_starts),
                "line_map": [list(anchor) for anchor in d.line_map],
                "text": d.text,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_rows(generation: Path, files: list[FilePart]) -> None:
    """chunks.npy (document, start, end, tiktoken tokens, word pieces) and sentences.npy
    (document, start, end), one file's rows at a time."""
    with NpyAppender(generation / CHUNKS, np.int64, 5) as chunks, NpyAppender(generation / SENTENCES, np.int64, 3) as sentences:
        for i, f in enumerate(files):
            chunks.append(np.array([(i, c.start, c.end, c.n_tokens, c.n_word_pieces) for c in f.chunks], np.int64).reshape(-1, 5))
            sentences.append(np.array([(i, s.start, s.end) for s in f.sentences], np.int64).reshape(-1, 3))


def write_vectors(
    generation: Path, files: list[FilePart], dim: int, on_file: Callable[[int], None] | None = None
) -> None:
    """The four vector files, copied from each part's run in file order. Token spans get
    their chunk rows renumbered to the new generation's. `on_file(n)` after n files."""
    with (
        NpyAppender(generation / EMBEDDINGS, np.float32, dim) as embeddings,
        NpyAppender(generation / SENTENCE_VECTORS, np.float16, dim) as sentence_vectors,
        NpyAppender(generation / TOKEN_VECTORS, np.float16, dim) as token_vectors,
        NpyAppender(generation / TOKEN_SPANS, np.int64, 3) as token_spans,
    ):
        row = 0
        for n, f in enumerate(files, 1):
            run = f.vectors
            for block in run.rows(EMBEDDINGS, f.first_chunk, f.first_chunk + len(f.chunks)):
                embeddings.append(block)
            for block in run.rows(SENTENCE_VECTORS, f.first_sentence, f.first_sentence + len(f.sentences)):
                sentence_vectors.append(block)
            for block in run.rows(TOKEN_VECTORS, f.tokens.start, f.tokens.stop):
                token_vectors.append(block)
            for block in run.rows(TOKEN_SPANS, f.tokens.start, f.tokens.stop):
                block[:, 0] += row - f.first_chunk
                token_spans.append(block)
            row += len(f.chunks)
            if on_file:
                on_file(n)


def build_store(generation: Path, *, hnsw_threshold: int) -> FaissStore:
    """The vector search structure over the written embeddings, added in blocks."""
    with NpyRows(generation / EMBEDDINGS) as rows:
        return FaissStore.build_from_blocks(rows.blocks(0, len(rows)), len(rows), rows.shape[1], hnsw_threshold=hnsw_threshold)
