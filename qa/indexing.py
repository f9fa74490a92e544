"""Build, update and load a saved index.

A build scans the sources, reuses everything of files whose size and mtime (or, failing
those, sha256) are unchanged, loads, cleans, chunks and embeds only new or changed files,
drops deleted ones, and writes a new generation atomically (qa/generations.py). Loading
checks the manifest against the running model and settings and every file against its
recorded hash, then holds the documents, chunks, sentences, vectors and BM25 in memory.

Files in a generation, all without pickle:
  manifest.json     what this index is (qa/manifest.py)
  documents.jsonl   one line per source: its metadata and the text offsets point into
  chunks.npy        int64 rows (document, start, end, tiktoken tokens, word pieces)
  sentences.npy     int64 rows (document, start, end)
  embeddings.npy    float32 unit vectors, one row per chunk (reused by later builds)
  sentence_vectors.npy  float16 unit vectors, one row per sentence, pooled in its chunk
  token_vectors.npy float16 unit vectors, one row per word piece of each chunk (empty when
                    IndexSettings.token_vectors is off or the embedder has none)
  token_spans.npy   int64 rows (chunk row, start, end) of those word pieces in the document
  vectors.faiss     the vector store's search structure
  bm25/             the lexical index (bm25s)
"""

from __future__ import annotations

import bisect
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa import generations, manifest as mf
from qa.chunking import Chunker
from qa.cleaning import content_spans
from qa.config import IndexSettings
from qa.embedding import Embedder, TokenVectors
from qa.errors import IndexCorruptError, IndexMissingError, SourcesError
from qa.lexical import LexicalIndex
from qa.loading import FileSkipped, load_document, scan_sources
from qa.store import FaissStore, VectorStore
from qa.types import BuildReport, Chunk, Document, IndexStats, Progress, Sentence, Skipped

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]

DOCUMENTS = "documents.jsonl"
CHUNKS = "chunks.npy"
SENTENCES = "sentences.npy"
EMBEDDINGS = "embeddings.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
TOKEN_VECTORS = "token_vectors.npy"
TOKEN_SPANS = "token_spans.npy"


@dataclass(slots=True)
class _FileData:
    """Everything one source contributes to an index."""

    document: Document
    sentences: list[Sentence]
    chunks: list[Chunk]
    embeddings: np.ndarray  # (len(chunks), dim)
    sentence_vectors: np.ndarray  # (len(sentences), dim)
    token_vectors: np.ndarray  # (tokens, dim), rows grouped by chunk
    token_spans: np.ndarray  # (tokens, 3): chunk number within this file, start, end


class LoadedIndex:
    """A generation in memory: what retrieval and answering read."""

    CACHED_CHUNKS = 2048  # float32 token vectors kept for answering (~100 MB at most)

    def __init__(
        self,
        directory: Path,
        manifest: dict,
        documents: list[Document],
        chunks: list[Chunk],
        sentences: list[Sentence],
        embeddings: np.ndarray,
        sentence_vectors: np.ndarray,
        store: VectorStore,
        lexical: LexicalIndex,
        token_vectors: np.ndarray,
        token_spans: np.ndarray,
    ):
        self.directory = directory
        self.manifest = manifest
        self.sources_dir = Path(manifest["sources_dir"])
        self.documents = {d.source: d for d in documents}
        self.chunks = chunks
        self.embeddings = embeddings
        self.sentence_list = sentences  # sorted by document, then offset
        self.sentence_vectors = sentence_vectors  # row i belongs to sentence_list[i]
        self.store = store
        self.lexical = lexical
        self.token_vectors = token_vectors  # float16, rows grouped by chunk
        self.token_spans = token_spans  # (chunk row, start, end) of each token row
        # Token rows of chunk i: _token_bounds[i] to _token_bounds[i + 1].
        self._token_bounds = np.searchsorted(token_spans[:, 0], np.arange(len(chunks) + 1)).tolist()
        self._token_cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
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

    def chunk_tokens(self, row: int) -> range:
        """Rows (into `token_vectors`) of chunk `row`'s word pieces; empty without them."""
        return range(self._token_bounds[row], self._token_bounds[row + 1])

    def chunk_token_vectors(self, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Chunk `row`'s token vectors as float32, with their start and end offsets.

        Converting float16 costs more than the matrix product that follows, so converted
        chunks are kept (bounded: the cache is dropped when it grows past CACHED_CHUNKS).
        """
        cached = self._token_cache.get(row)
        if cached is None:
            rows = self.chunk_tokens(row)
            spans = self.token_spans[rows.start : rows.stop]
            cached = (
                self.token_vectors[rows.start : rows.stop].astype(np.float32),
                np.ascontiguousarray(spans[:, 1]),
                np.ascontiguousarray(spans[:, 2]),
            )
            if len(self._token_cache) >= self.CACHED_CHUNKS:
                self._token_cache.clear()
            self._token_cache[row] = cached
        return cached

    def line_of(self, source: str, offset: int) -> int:
        """1-based line number of `offset` in `source` (line breaks: \\n, \\r\\n or \\r)."""
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

    def file_data(self, source: str, rows: range) -> _FileData:
        sentence_rows = self._sentence_rows.get(source, range(0))
        first, last = self._token_bounds[rows.start], self._token_bounds[rows.stop]
        token_spans = self.token_spans[first:last].copy()
        token_spans[:, 0] -= rows.start  # chunk numbers within the file
        return _FileData(
            self.documents[source],
            self.sentences(source),
            self.chunks[rows.start : rows.stop],
            self.embeddings[rows.start : rows.stop],
            self.sentence_vectors[sentence_rows.start : sentence_rows.stop],
            self.token_vectors[first:last],
            token_spans,
        )

    def rows_by_source(self) -> dict[str, range]:
        out: dict[str, range] = {}
        for row, chunk in enumerate(self.chunks):
            r = out.get(chunk.source)
            out[chunk.source] = range(r.start if r else row, row + 1)
        return out


# ---------------------------------------------------------------- loading


def _load_array(generation: Path, name: str, dtype, columns: int | None) -> np.ndarray:
    try:
        array = np.load(generation / name, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"the index file {generation / name} cannot be read ({exc}): {mf.REBUILD_HINT}") from exc
    if array.dtype != dtype or (columns is not None and (array.ndim != 2 or array.shape[1] != columns)):
        raise IndexCorruptError(f"the index file {generation / name} has the wrong shape: {mf.REBUILD_HINT}")
    return array


def _read_documents(generation: Path) -> list[Document]:
    documents = []
    try:
        with open(generation / DOCUMENTS, encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                documents.append(
                    Document(
                        source=d["source"],
                        text=d["text"],
                        sha256=d["sha256"],
                        size=d["size"],
                        mtime=d["mtime"],
                        kind=d["kind"],
                        page_starts=tuple(d["page_starts"]),
                    )
                )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"the index file {generation / DOCUMENTS} cannot be read ({exc}): {mf.REBUILD_HINT}") from exc
    return documents


def load_index(
    index_dir: Path, *, embedder: Embedder, settings: IndexSettings | None = None
) -> LoadedIndex:
    """Load the live generation of `index_dir`, checking it was built by this setup."""
    settings = settings or IndexSettings()
    index_dir = Path(index_dir)
    generation = generations.current_generation(index_dir)
    if generation is None:
        raise IndexMissingError(f"there is no index at {index_dir}: build one with `qa index`")
    manifest = mf.read_manifest(generation)
    mf.check_compatible(
        manifest, model_id=embedder.model_id, dim=embedder.dim, settings=settings, where=index_dir
    )
    mf.verify_artifacts(generation, manifest)

    documents = _read_documents(generation)
    chunk_rows = _load_array(generation, CHUNKS, np.int64, 5)
    sentence_rows = _load_array(generation, SENTENCES, np.int64, 3)
    embeddings = _load_array(generation, EMBEDDINGS, np.float32, embedder.dim)
    sentence_vectors = _load_array(generation, SENTENCE_VECTORS, np.float16, embedder.dim)
    if len(embeddings) != len(chunk_rows) or len(sentence_vectors) != len(sentence_rows):
        raise IndexCorruptError(f"the index {index_dir} has vectors that do not match its chunks or sentences: {mf.REBUILD_HINT}")
    token_vectors = _load_array(generation, TOKEN_VECTORS, np.float16, embedder.dim)
    token_spans = _load_array(generation, TOKEN_SPANS, np.int64, 3)
    owners = token_spans[:, 0]
    if len(token_vectors) != len(token_spans) or (
        len(owners) and (owners[0] < 0 or owners[-1] >= len(chunk_rows) or bool((np.diff(owners) < 0).any()))
    ):
        raise IndexCorruptError(f"the index {index_dir} has token vectors that do not match its chunks: {mf.REBUILD_HINT}")

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
        index_dir, manifest, documents, chunks, sentences, embeddings, sentence_vectors, store, lexical,
        token_vectors, token_spans,
    )


# ---------------------------------------------------------------- building


def _previous(index_dir: Path, embedder: Embedder, settings: IndexSettings, rebuild: bool) -> LoadedIndex | None:
    """The index to update, None when there is none or a rebuild was asked for.

    An incompatible or damaged index is an error (it says to rebuild), not something to
    silently overwrite: the person may be pointing at the wrong folder.
    """
    if rebuild or generations.current_generation(index_dir) is None:
        return None
    return load_index(index_dir, embedder=embedder, settings=settings)


def _write_generation(
    generation: Path,
    files: list[_FileData],
    *,
    embedder: Embedder,
    settings: IndexSettings,
    sources_dir: Path,
    skipped: list[Skipped],
) -> str:
    documents = [f.document for f in files]
    with open(generation / DOCUMENTS, "w", encoding="utf-8") as out:
        for d in documents:
            row = {
                "source": d.source,
                "kind": d.kind,
                "sha256": d.sha256,
                "size": d.size,
                "mtime": d.mtime,
                "page_starts": list(d.page_starts),
                "text": d.text,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")

    chunk_rows = [
        (i, c.start, c.end, c.n_tokens, c.n_word_pieces)
        for i, f in enumerate(files)
        for c in f.chunks
    ]
    sentence_rows = [(i, s.start, s.end) for i, f in enumerate(files) for s in f.sentences]
    np.save(generation / CHUNKS, np.array(chunk_rows, dtype=np.int64).reshape(-1, 5), allow_pickle=False)
    np.save(generation / SENTENCES, np.array(sentence_rows, dtype=np.int64).reshape(-1, 3), allow_pickle=False)
    embeddings = (
        np.concatenate([f.embeddings for f in files]) if files else np.zeros((0, embedder.dim), np.float32)
    ).astype(np.float32, copy=False)
    np.save(generation / EMBEDDINGS, embeddings, allow_pickle=False)
    sentence_vectors = (
        np.concatenate([f.sentence_vectors for f in files]) if files else np.zeros((0, embedder.dim))
    ).astype(np.float16)  # half the size; cosines agree to ~1e-3, plenty for ranking sentences
    np.save(generation / SENTENCE_VECTORS, sentence_vectors, allow_pickle=False)
    token_vectors = np.zeros((0, embedder.dim), np.float16)
    token_spans = np.zeros((0, 3), np.int64)
    if settings.token_vectors and files:
        first_chunk = np.cumsum([0] + [len(f.chunks) for f in files[:-1]])
        token_vectors = np.concatenate([f.token_vectors for f in files]).astype(np.float16).reshape(-1, embedder.dim)
        token_spans = np.concatenate(
            [f.token_spans.reshape(-1, 3) + np.array([offset, 0, 0]) for f, offset in zip(files, first_chunk)]
        ).astype(np.int64)
    np.save(generation / TOKEN_VECTORS, token_vectors, allow_pickle=False)
    np.save(generation / TOKEN_SPANS, token_spans, allow_pickle=False)

    store = FaissStore.build(embeddings, hnsw_threshold=settings.hnsw_threshold)
    store_files = store.save(generation)
    LexicalIndex.build([c.text for f in files for c in f.chunks]).save(generation)

    built_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    entries = [
        mf.FileEntry(
            f.document.source, f.document.size, f.document.mtime, f.document.sha256,
            f.document.kind, len(f.chunks), len(f.sentences),
        )
        for f in files
    ]
    names = [
        DOCUMENTS, CHUNKS, SENTENCES, EMBEDDINGS, SENTENCE_VECTORS, TOKEN_VECTORS, TOKEN_SPANS,
        *store_files, "bm25",
    ]
    manifest = mf.make_manifest(
        settings=settings,
        model_id=embedder.model_id,
        dim=embedder.dim,
        max_word_pieces=embedder.max_word_pieces,
        sources_dir=sources_dir,
        files=entries,
        skipped=[{"source": s.source, "reason": s.reason} for s in skipped],
        store_kind=store.kind,
        counts={"files": len(files), "chunks": len(chunk_rows), "sentences": len(sentence_rows)},
        artifacts=mf.artifact_entries(generation, names),
        built_at=built_at,
    )
    mf.write_manifest(generation, manifest)
    return built_at


def _sentence_homes(sentences: list[Sentence], chunks: list[Chunk]) -> list[tuple[int, int, int]]:
    """For each sentence, the chunk whose token vectors it is pooled from, and its span there.

    The home is the first chunk holding the sentence's start; a sentence longer than a
    chunk (cut in pieces) is pooled from the piece in its home, clipped to that chunk.
    """
    homes = []
    c = 0
    for s in sentences:
        while c + 1 < len(chunks) and chunks[c].end <= s.start:
            c += 1
        chunk = chunks[c]
        a = max(s.start, chunk.start) - chunk.start
        z = min(s.end, chunk.end) - chunk.start
        homes.append((c, a, max(a, z)))
    return homes


def _file_tokens(
    token_vectors: list[TokenVectors] | None, offset: int, chunks: list[Chunk], dim: int, wanted: bool
) -> tuple[np.ndarray, np.ndarray]:
    """One file's token vectors (float16) and (chunk number, start, end) in the document."""
    if not wanted or token_vectors is None or not chunks:
        return np.zeros((0, dim), np.float16), np.zeros((0, 3), np.int64)
    vectors, spans = [], []
    for c, chunk in enumerate(chunks):
        tokens = token_vectors[offset + c]
        vectors.append(tokens.vectors.reshape(-1, dim).astype(np.float16))
        rows = np.empty((len(tokens.spans), 3), np.int64)
        rows[:, 0] = c
        rows[:, 1:] = tokens.spans.reshape(-1, 2) + chunk.start
        spans.append(rows)
    return np.concatenate(vectors), np.concatenate(spans)


def build_index(
    sources: Path,
    index_dir: Path,
    *,
    embedder: Embedder,
    settings: IndexSettings | None = None,
    rebuild: bool = False,
    progress: ProgressCallback | None = None,
) -> BuildReport:
    """Bring the index at `index_dir` up to date with the files under `sources`.

    Raises SourcesError when nothing at all can be indexed (the previous index, if any,
    is left as it was), IndexLockedError when another process is writing, and the load
    errors of `load_index` when the existing index is incompatible or damaged.
    """
    settings = settings or IndexSettings()
    sources = Path(sources)
    index_dir = Path(index_dir)
    report_progress = progress or (lambda event: None)
    started = time.perf_counter()
    infos = scan_sources(sources)  # SourcesError when the folder is missing

    with generations.writer_lock(index_dir):
        previous = _previous(index_dir, embedder, settings, rebuild)
        old_files = previous.manifest["files"] if previous else {}
        old_rows = previous.rows_by_source() if previous else {}

        kept: dict[str, _FileData] = {}
        to_embed: list[Document] = []
        skipped: list[Skipped] = []
        added, changed, unchanged = [], [], []
        touched = False  # an mtime moved but the content did not: rewrite, embed nothing
        for n, info in enumerate(infos, 1):
            report_progress(Progress("load", n, len(infos), info.source))
            old = old_files.get(info.source)
            if old and old["size"] == info.size and old["mtime"] == info.mtime:
                kept[info.source] = previous.file_data(info.source, old_rows.get(info.source, range(0)))
                unchanged.append(info.source)
                continue
            try:
                loaded = load_document(sources, Path(info.source), max_file_bytes=settings.max_file_bytes)
            except FileSkipped as skip:
                log.info("skipped %s: %s", skip.source, skip.reason)
                skipped.append(skip.skipped)
                continue
            if old and old["sha256"] == loaded.sha256:  # touched, not changed
                reused = previous.file_data(info.source, old_rows.get(info.source, range(0)))
                reused.document = loaded
                kept[info.source] = reused
                unchanged.append(info.source)
                touched = True
                continue
            (changed if old else added).append(info.source)
            to_embed.append(loaded)

        chunker = Chunker(settings, embedder.count_word_pieces, embedder.max_word_pieces)
        fresh: list[tuple[Document, list[Sentence], list[Chunk]]] = []
        for document in to_embed:
            sentences, chunks = chunker.chunk(document.text, document.source, content_spans(document.text))
            if not chunks:  # all of it was boilerplate or symbols: nothing to search
                skipped.append(Skipped(document.source, "no text left after removing boilerplate"))
                for names in (added, changed):
                    if document.source in names:
                        names.remove(document.source)
                continue
            fresh.append((document, sentences, chunks))
        removed = sorted(set(old_files) - set(kept) - set(added) - set(changed))
        if not kept and not fresh:
            reasons = "; ".join(f"{s.source}: {s.reason}" for s in skipped[:5]) or "no files"
            raise SourcesError(
                f"nothing to index in {sources} ({reasons}): add .txt, .md, .html or .pdf files"
            )
        if previous and not (added or changed or removed or touched):
            return BuildReport(
                str(index_dir), len(kept), len(previous.chunks), 0, 0,
                time.perf_counter() - started, unchanged=tuple(unchanged), skipped=tuple(skipped),
            )

        total = sum(len(c) for _, _, c in fresh)
        done = 0

        def on_batch(n: int) -> None:
            nonlocal done
            done += n
            report_progress(Progress("embed", done, total))

        report_progress(Progress("embed", 0, total))
        texts = [c.text for _, _, chunks in fresh for c in chunks]
        homes = [_sentence_homes(sentences, chunks) for _, sentences, chunks in fresh]
        spans = [[] for _ in texts]
        offset = 0
        for (_, sentences, chunks), home in zip(fresh, homes):
            for sentence, (c, a, z) in zip(sentences, home):
                spans[offset + c].append((a, z))
            offset += len(chunks)
        vectors, span_vectors, token_vectors = embedder.embed_with_tokens(texts, spans, on_batch=on_batch)
        offset = 0
        for (document, sentences, chunks), home in zip(fresh, homes):
            taken = [0] * len(chunks)
            sentence_vectors = np.zeros((len(sentences), embedder.dim), np.float32)
            for k, (c, _, _) in enumerate(home):
                sentence_vectors[k] = span_vectors[offset + c][taken[c]]
                taken[c] += 1
            kept[document.source] = _FileData(
                document, sentences, chunks, vectors[offset : offset + len(chunks)], sentence_vectors,
                *_file_tokens(token_vectors, offset, chunks, embedder.dim, settings.token_vectors),
            )
            offset += len(chunks)

        files = [kept[s] for s in sorted(kept)]
        report_progress(Progress("save", 0, 1))
        with generations.new_generation(index_dir) as generation:
            _write_generation(
                generation, files, embedder=embedder, settings=settings,
                sources_dir=sources.resolve(), skipped=skipped,
            )
        report_progress(Progress("save", 1, 1))

    return BuildReport(
        index_dir=str(index_dir),
        files=len(files),
        chunks=sum(len(f.chunks) for f in files),
        embedded_chunks=len(texts),
        word_pieces=sum(c.n_word_pieces for _, _, chunks in fresh for c in chunks),
        seconds=time.perf_counter() - started,
        added=tuple(added),
        changed=tuple(changed),
        removed=tuple(removed),
        unchanged=tuple(unchanged),
        skipped=tuple(skipped),
    )

