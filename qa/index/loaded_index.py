"""A saved index in memory: what retrieval and answering read, and how it is loaded.

Loading checks the manifest against the running model and settings and every file against
its recorded hash (qa/index/manifest.py), then holds the documents, chunks, sentences and BM25
in memory and memory-maps the vectors. Building and updating an index is qa/index/indexing.py.

Loading takes no lock: a writer may publish a new generation and delete the one being
read at any moment. What is not read into memory is mapped, and a mapped file stays
readable after it is deleted (POSIX), so an index once loaded is immune; a load that
fails because its generation went away starts again on the new one.
"""

from __future__ import annotations

import bisect
import logging
from pathlib import Path

import numpy as np

from qa.config import IndexSettings
from qa.errors import IndexBusyError, IndexCorruptError, IndexIncompatibleError, IndexMissingError
from qa.index import generations, manifest as mf
from qa.index.document_records import document_from_line
from qa.index.embedding import Embedder
from qa.index.generation_writer import CHUNKS, DOCUMENTS, SENTENCES
from qa.index.lexical import LexicalIndex
from qa.index.store import FAISS_FILE, FaissStore, VectorStore
from qa.index.vector_run import EMBEDDINGS, SENTENCE_VECTORS
from qa.ingest.source_lines import line_in_file
from qa.types import Chunk, Document, IndexStats, Sentence

# Every generation has these; the manifest must list them (and every other file present).
REQUIRED = (DOCUMENTS, CHUNKS, SENTENCES, EMBEDDINGS, SENTENCE_VECTORS, FAISS_FILE)
# A reader starts again at most this often when writers keep replacing the generation.
LOAD_ATTEMPTS = 5

log = logging.getLogger(__name__)


class LoadedIndex:
    """A generation in memory: what retrieval and answering read."""

    def __init__(
        self,
        directory: Path,
        generation: Path,
        manifest: dict,
        documents: list[Document],
        chunks: list[Chunk],
        sentences: list[Sentence],
        embeddings: np.ndarray,
        sentence_vectors: np.ndarray,
        store: VectorStore,
        lexical: LexicalIndex,
    ):
        self.directory = directory
        self.generation = generation  # the folder it was read from (may be gone since)
        self.manifest = manifest
        self.sources_dir = Path(manifest["sources_dir"])
        self.documents = {d.source: d for d in documents}
        self.chunks = chunks
        self.embeddings = embeddings
        self.sentence_list = sentences  # sorted by document, then offset
        self.sentence_vectors = sentence_vectors  # row i belongs to sentence_list[i]
        self.store = store
        self.lexical = lexical
        self._sentence_rows: dict[str, range] = {}
        for row, s in enumerate(sentences):
            r = self._sentence_rows.get(s.source)
            self._sentence_rows[s.source] = range(r.start if r else row, row + 1)
        self._sentence_starts = [s.start for s in sentences]
        self._line_starts: dict[str, list[int]] = {}

    def document(self, source: str) -> Document:
        try:
            return self.documents[source]
        except KeyError:
            raise IndexMissingError(f"{source} is not in the index {self.directory}") from None

    def sentences(self, source: str) -> list[Sentence]:
        rows = self._sentence_rows.get(source, range(0))
        return self.sentence_list[rows.start : rows.stop]

    def sentence_rows_within(self, source: str, start: int, end: int) -> range:
        """Rows (into `sentence_list`) of the sentences of `source` overlapping `[start, end)`."""
        rows = self._sentence_rows.get(source, range(0))
        lo = max(rows.start, bisect.bisect_right(self._sentence_starts, start, rows.start, rows.stop) - 1)
        if lo < rows.stop and self.sentence_list[lo].end <= start:
            lo += 1
        hi = bisect.bisect_left(self._sentence_starts, end, lo, rows.stop)
        return range(lo, max(lo, hi))

    def line_of(self, source: str, offset: int) -> int:
        """1-based line number of `offset` in `source`'s file (line breaks: \\n, \\r\\n or
        \\r): for HTML the raw file's line where that text stands, for a PDF the line of
        its extracted text (pages joined by form feeds)."""
        document = self.document(source)
        if document.line_map:
            return line_in_file(document.line_map, offset)
        starts = self._line_starts.get(source)
        if starts is None:
            text = self.document(source).text
            starts = [0]
            i = 0
            while i < len(text):
                c = text[i]
                if c == "\n" or (c == "\r" and text[i + 1 : i + 2] != "\n"):
                    starts.append(i + 1)
                i += 1
            self._line_starts[source] = starts
        return bisect.bisect_right(starts, offset)

    @property
    def stats(self) -> IndexStats:
        m = self.manifest
        return IndexStats(
            name=self.directory.name,
            path=str(self.directory),
            sources_dir=m["sources_dir"],
            files=len(self.documents),
            chunks=len(self.chunks),
            model=m["model"]["id"],
            dim=m["model"]["dim"],
            built_at=m["built_at"],
        )

    def sentence_range(self, source: str) -> range:
        """Rows (into `sentence_list` and `sentence_vectors`) of `source`'s sentences."""
        return self._sentence_rows.get(source, range(0))

    def rows_by_source(self) -> dict[str, range]:
        out: dict[str, range] = {}
        for row, chunk in enumerate(self.chunks):
            r = out.get(chunk.source)
            out[chunk.source] = range(r.start if r else row, row + 1)
        return out


def _load_array(generation: Path, name: str, dtype, columns: int | None, mmap: bool = False) -> np.ndarray:
    try:
        array = np.load(generation / name, allow_pickle=False, mmap_mode="r" if mmap else None)
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"the index file {generation / name} cannot be read ({exc}): {mf.REBUILD_HINT}") from exc
    if array.dtype != dtype or (columns is not None and (array.ndim != 2 or array.shape[1] != columns)):
        raise IndexCorruptError(f"the index file {generation / name} has the wrong shape: {mf.REBUILD_HINT}")
    return array


def _read_documents(generation: Path) -> list[Document]:
    try:
        with open(generation / DOCUMENTS, encoding="utf-8") as f:
            return [document_from_line(line) for line in f]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"the index file {generation / DOCUMENTS} cannot be read ({exc}): {mf.REBUILD_HINT}") from exc


def load_index(
    index_dir: Path, *, embedder: Embedder, settings: IndexSettings | None = None, verify: bool = True
) -> LoadedIndex:
    """Load the live generation of `index_dir`, checking it was built by this setup.

    `verify` hashes every file against the manifest; without it files whose size and
    mtime are as recorded are trusted (qa/index/manifest.py, `verify_artifacts`).

    Lock-free. When the generation being read is replaced and removed by a writer meanwhile
    (its files vanish, or `CURRENT` moved on), the load starts again on the new one, so a
    reader never reports a healthy index as damaged.
    """
    settings = settings or IndexSettings()
    index_dir = Path(index_dir)
    for _ in range(LOAD_ATTEMPTS):
        current = generations.read_current(index_dir)
        if current is None:
            raise IndexMissingError(f"there is no index at {index_dir}: build one with `qa index`")
        try:
            return _load_generation(index_dir, current, embedder, settings, verify)
        except (IndexCorruptError, IndexIncompatibleError, OSError) as exc:
            if not _replaced(index_dir, current):
                if isinstance(exc, OSError):
                    raise IndexCorruptError(f"the index {index_dir} cannot be read ({exc}): {mf.REBUILD_HINT}") from exc
                raise
            log.info("generation %s was replaced while loading; loading the new one", current.path.name)
    raise IndexBusyError(
        f"the index {index_dir} was replaced {LOAD_ATTEMPTS} times while it was being read: try again"
    )


def _replaced(index_dir: Path, current: generations.Current) -> bool:
    """True when `CURRENT` no longer names `current`, or its folder is gone while `CURRENT`
    names something else (a writer published meanwhile)."""
    try:
        now = generations.read_current(index_dir)
    except (IndexCorruptError, IndexIncompatibleError):
        return False
    return now is not None and now != current


def _load_generation(
    index_dir: Path, current: generations.Current, embedder: Embedder, settings: IndexSettings, verify: bool
) -> LoadedIndex:
    generation = current.path
    manifest = mf.read_manifest(generation, current.manifest_sha256)
    mf.check_compatible(
        manifest, model_id=embedder.model_id, dim=embedder.dim, model_sha256=embedder.model_sha256,
        settings=settings, where=index_dir,
    )
    mf.verify_artifacts(generation, manifest, REQUIRED, full=verify)
    documents = _read_documents(generation)
    chunk_rows = _load_array(generation, CHUNKS, np.int64, 5)
    sentence_rows = _load_array(generation, SENTENCES, np.int64, 3)
    # Vectors are mapped, not read: answering reads the rows of ~10 chunks, and a build
    # copies them from the files (a generation's files are never rewritten in place).
    embeddings = _load_array(generation, EMBEDDINGS, np.float32, embedder.dim, mmap=True)
    sentence_vectors = _load_array(generation, SENTENCE_VECTORS, np.float16, embedder.dim, mmap=True)
    if len(embeddings) != len(chunk_rows) or len(sentence_vectors) != len(sentence_rows):
        raise IndexCorruptError(f"the index {index_dir} has vectors that do not match its chunks or sentences: {mf.REBUILD_HINT}")
    try:
        chunks = [
            Chunk(documents[d].source, s, e, documents[d].text[s:e], t, w)
            for d, s, e, t, w in chunk_rows.tolist()
        ]
        sentences = [
            Sentence(documents[d].source, s, e, documents[d].text[s:e])
            for d, s, e in sentence_rows.tolist()
        ]
    except IndexError as exc:
        raise IndexCorruptError(f"the index {index_dir} refers to a document it does not hold: {mf.REBUILD_HINT}") from exc

    store = FaissStore.load(generation)
    if len(store) != len(chunks):
        raise IndexCorruptError(f"the vector index of {index_dir} holds {len(store)} vectors for {len(chunks)} chunks: {mf.REBUILD_HINT}")
    lexical = LexicalIndex.load(generation, len(chunks))
    return LoadedIndex(
        index_dir, generation, manifest, documents, chunks, sentences, embeddings, sentence_vectors, store, lexical
    )
