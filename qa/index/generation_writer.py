"""Writing a generation's files from the parts a build gathered, streaming everything.

Each source contributes a `FilePart`: its document (by reference: held, or spooled on disk,
qa/index/document_records.py), the offsets of its chunks and sentences as compact arrays,
and where its vectors already are (rows of the previous generation, or of the shards just
embedded). Texts are cut from one document at a time, as each pass needs them; the vector
files are written a block of rows at a time (qa/index/npy_stream.py), so peak memory does
not grow with the vectors. The vector search structure is built from the written
embeddings, also in blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.index.document_records import DocumentRef
from qa.index.npy_stream import NpyAppender, NpyRows
from qa.index.store import FaissStore
from qa.index.vector_run import EMBEDDINGS, SENTENCE_VECTORS, VectorRun
from qa.types import Chunk, Sentence

DOCUMENTS = "documents.jsonl"
CHUNKS = "chunks.npy"
SENTENCES = "sentences.npy"


@dataclass(slots=True)
class FilePart:
    """Everything one source contributes to an index, its document and vectors by reference."""

    document: DocumentRef
    sentences: np.ndarray  # int64 rows (start, end)
    chunks: np.ndarray  # int64 rows (start, end, tiktoken tokens, word pieces)
    vectors: VectorRun  # where its vectors are
    first_chunk: int  # its first chunk's row in `vectors`
    first_sentence: int


def chunk_rows(chunks: list[Chunk]) -> np.ndarray:
    """(start, end, tiktoken tokens, word pieces) of each chunk, as FilePart holds them."""
    return np.array([(c.start, c.end, c.n_tokens, c.n_word_pieces) for c in chunks], np.int64).reshape(-1, 4)


def sentence_rows(sentences: list[Sentence]) -> np.ndarray:
    return np.array([(s.start, s.end) for s in sentences], np.int64).reshape(-1, 2)


def chunk_texts(files: list[FilePart]) -> Iterator[str]:
    """Every chunk's text in row order, one document in memory at a time."""
    for f in files:
        text = f.document.load().text
        yield from (text[start:end] for start, end in f.chunks[:, :2].tolist())


def write_documents(generation: Path, files: list[FilePart]) -> None:
    with open(generation / DOCUMENTS, "wb") as out:
        for f in files:
            out.write(f.document.line())


def write_rows(generation: Path, files: list[FilePart]) -> None:
    """chunks.npy (document, start, end, tiktoken tokens, word pieces) and sentences.npy
    (document, start, end), one file's rows at a time."""
    with NpyAppender(generation / CHUNKS, np.int64, 5) as chunks, NpyAppender(generation / SENTENCES, np.int64, 3) as sentences:
        for i, f in enumerate(files):
            chunks.append(np.column_stack([np.full(len(f.chunks), i, np.int64), f.chunks]))
            sentences.append(np.column_stack([np.full(len(f.sentences), i, np.int64), f.sentences]))


def write_vectors(
    generation: Path, files: list[FilePart], dim: int, on_file: Callable[[int], None] | None = None
) -> None:
    """The vector files, copied from each part's run in file order. `on_file(n)` after n files."""
    with (
        NpyAppender(generation / EMBEDDINGS, np.float32, dim) as embeddings,
        NpyAppender(generation / SENTENCE_VECTORS, np.float16, dim) as sentence_vectors,
    ):
        for n, f in enumerate(files, 1):
            run = f.vectors
            for block in run.rows(EMBEDDINGS, f.first_chunk, f.first_chunk + len(f.chunks)):
                embeddings.append(block)
            for block in run.rows(SENTENCE_VECTORS, f.first_sentence, f.first_sentence + len(f.sentences)):
                sentence_vectors.append(block)
            if on_file:
                on_file(n)


def write_store(generation: Path, *, hnsw_threshold: int) -> tuple[str, list[str]]:
    """The vector search structure over the written embeddings, added in blocks and saved;
    returns its kind and files. It is not kept: HNSW holds a copy of every vector (~200 MB
    at 100k chunks), which the passes that follow need not share memory with."""
    with NpyRows(generation / EMBEDDINGS) as rows:
        store = FaissStore.build_from_blocks(rows.blocks(0, len(rows)), len(rows), rows.shape[1], hnsw_threshold=hnsw_threshold)
    return store.kind, store.save(generation)
