"""Build, update and load a saved index.

A build scans the sources, reuses everything of files whose size and mtime (or, failing
those, sha256) are unchanged, loads, cleans, chunks and embeds only new or changed files,
drops deleted ones, and writes a new generation atomically (qa/index/generations.py). It
holds no text and no object per chunk or sentence: new documents wait on disk
(qa/index/document_records.py), chunks and sentences are offset arrays, and each pass over
the texts reads one document at a time, so its memory grows with the corpus only by those
arrays and the vector search structure. Loading
checks the manifest against the running model and settings and every file against its
recorded hash, then holds the documents, chunks, sentences, vectors and BM25 in memory
(qa/index/loaded_index.py).

Files in a generation, all without pickle:
  manifest.json     what this index is (qa/index/manifest.py)
  documents.jsonl   one line per source: its metadata and the text offsets point into
  chunks.npy        int64 rows (document, start, end, tiktoken tokens, word pieces)
  sentences.npy     int64 rows (document, start, end)
  embeddings.npy    float32 unit vectors, one row per chunk (reused by later builds)
  sentence_vectors.npy  float16 unit vectors, one row per sentence, pooled in its chunk
  vectors.faiss     the vector store's search structure
  bm25/             the lexical index (bm25s)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from qa.index import embedding_shards, generations, manifest as mf
from qa.config import IndexSettings
from qa.index.embedding import Embedder
from qa.index.embedding_shards import ShardInput
from qa.errors import IndexCorruptError, IndexIncompatibleError, SourcesError
from qa.index.document_records import DocumentRef, DocumentSpool, HeldDocument
from qa.index.generation_writer import (
    FilePart, chunk_rows, chunk_texts, sentence_rows, write_documents, write_rows, write_store, write_vectors,
)
from qa.index.lexical import LexicalIndex
from qa.index.loaded_index import (  # load_index and the file names are part of this module's API
    CHUNKS,
    DOCUMENTS,
    EMBEDDINGS,
    SENTENCE_VECTORS,
    SENTENCES,
    REQUIRED,
    LoadedIndex,
    load_index,
)
from qa.ingest.ingest_pool import prepare_files, word_piece_counter
from qa.ingest.loading import load_document, scan_sources
from qa.types import BuildReport, Chunk, Progress, Skipped
from qa.index.vector_run import VectorRun

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]

# ---------------------------------------------------------------- building


def _previous(
    index_dir: Path, embedder: Embedder, settings: IndexSettings, rebuild: bool, loaded: LoadedIndex | None
) -> LoadedIndex | None:
    """The index to update, None when there is none or a rebuild was asked for.

    Called with the writer lock held. An unreadable `CURRENT`, or an incompatible or
    damaged index, is an error (it says to rebuild), not something to silently overwrite:
    the person may be pointing at the wrong folder. Old generations are removed here, on
    every open as writer, once `CURRENT` has been read. `loaded` is an index the caller
    already holds, reused when it is still the live generation.
    """
    try:
        current = generations.read_current(index_dir)
    except (IndexCorruptError, IndexIncompatibleError):
        if not rebuild:
            raise
        log.warning("rebuilding %s, whose CURRENT could not be read", index_dir)
        return None
    generations.remove_stale(index_dir, current.path if current else None)
    if rebuild or current is None:
        return None
    if loaded is not None and loaded.generation == current.path:
        # Opened for answering (sizes and mtimes checked): a build copies from it, so
        # every file is hashed first, as a build's own load does.
        mf.verify_artifacts(loaded.generation, loaded.manifest, REQUIRED, full=True)
        return loaded
    return load_index(index_dir, embedder=embedder, settings=settings, verify=True)


def is_up_to_date(index: LoadedIndex, sources: Path) -> bool:
    """True when `sources` is the folder `index` was built from and holds the same entries
    with the same size and mtime (indexed or skipped), so no build is needed. Reads no file."""
    if Path(sources).resolve() != index.sources_dir:
        return False
    manifest = index.manifest
    seen = {name: (entry["size"], entry["mtime"]) for name, entry in manifest["files"].items()}
    seen.update({entry["source"]: (entry["size"], entry["mtime"]) for entry in manifest["skipped"]})
    infos = scan_sources(sources)
    return len(infos) == len(seen) and all(seen.get(i.source) == (i.size, i.mtime) for i in infos)


def _write_generation(
    generation: Path,
    files: list[FilePart],
    *,
    embedder: Embedder,
    settings: IndexSettings,
    sources_dir: Path,
    skipped: list[Skipped],
    stats: dict[str, tuple[int, float]],
    progress: ProgressCallback,
) -> str:
    """Write every file of the generation: "save" reports the files' vectors copied,
    "index" the search structures built (vectors, BM25) and the hashing."""
    write_documents(generation, files)
    write_rows(generation, files)
    write_vectors(generation, files, embedder.dim, on_file=lambda n: progress(Progress("save", n, len(files))))
    progress(Progress("index", 0, 3, "vector search"))
    store_kind, store_files = write_store(generation, hnsw_threshold=settings.hnsw_threshold)
    progress(Progress("index", 1, 3, "BM25"))
    LexicalIndex.build(chunk_texts(files)).save(generation)
    progress(Progress("index", 2, 3, "hashing"))

    built_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    entries = [
        mf.FileEntry(
            f.document.source, f.document.size, f.document.mtime, f.document.sha256,
            f.document.kind, len(f.chunks), len(f.sentences),
        )
        for f in files
    ]
    names = [DOCUMENTS, CHUNKS, SENTENCES, EMBEDDINGS, SENTENCE_VECTORS, *store_files, "bm25"]
    manifest = mf.make_manifest(
        settings=settings,
        model_id=embedder.model_id,
        dim=embedder.dim,
        max_word_pieces=embedder.max_word_pieces,
        model_sha256=embedder.model_sha256,
        sources_dir=sources_dir,
        files=entries,
        # With their size and mtime, so that an unchanged skipped file does not make the
        # index look stale to `is_up_to_date`.
        skipped=[
            {"source": s.source, "reason": s.reason, "size": size, "mtime": mtime}
            for s in skipped
            for size, mtime in [stats.get(s.source, (0, 0.0))]
        ],
        store_kind=store_kind,
        counts={
            "files": len(files),
            "chunks": sum(len(f.chunks) for f in files),
            "sentences": sum(len(f.sentences) for f in files),
        },
        artifacts=mf.artifact_entries(generation, names),
        built_at=built_at,
    )
    mf.write_manifest(generation, manifest)
    progress(Progress("index", 3, 3))
    return built_at


def _sentence_homes(sentences: np.ndarray, chunks: np.ndarray) -> list[tuple[int, int, int]]:
    """For each sentence (rows of start, end), the chunk (rows of start, end, ...) whose
    token vectors its vector is pooled from, and its span there.

    The home is the first chunk holding the sentence's start; a sentence longer than a
    chunk (cut in pieces) is pooled from the piece in its home, clipped to that chunk.
    """
    homes = []
    c = 0
    bounds = chunks[:, :2].tolist()
    for start, end in sentences.tolist():
        while c + 1 < len(bounds) and bounds[c][1] <= start:
            c += 1
        chunk_start, chunk_end = bounds[c]
        a = max(start, chunk_start) - chunk_start
        z = min(end, chunk_end) - chunk_start
        homes.append((c, a, max(a, z)))
    return homes


def _shard_inputs(fresh: list[tuple[DocumentRef, np.ndarray, np.ndarray]]) -> Iterator[ShardInput]:
    """Every new chunk in writing order, with the spans of the sentences pooled in it; one
    document's text in memory at a time."""
    for document, sentences, chunks in fresh:
        text = document.load().text
        spans: list[list[tuple[int, int]]] = [[] for _ in range(len(chunks))]
        for c, a, z in _sentence_homes(sentences, chunks):
            spans[c].append((a, z))
        for (start, end, n_tokens, n_word_pieces), chunk_spans in zip(chunks.tolist(), spans):
            chunk = Chunk(document.source, start, end, text[start:end], n_tokens, n_word_pieces)
            yield ShardInput(chunk, tuple(chunk_spans))


def _lacks_line_map(document) -> bool:
    """An HTML document indexed before citations named the raw file's lines: reloading
    it (same content, so nothing is re-embedded) adds its line map."""
    return document.kind == "html" and not document.line_map


def _nothing_to_index(sources: Path, skipped: list[Skipped]) -> str:
    """Why nothing could be indexed: each skipped file's reason, which says what to do
    with it; the advice to add documents only when no file of a supported type was found."""
    reasons = "; ".join(f"{s.source}: {s.reason}" for s in skipped[:5])
    more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    if not skipped:
        return f"nothing to index in {sources}: it holds no files; add .txt, .md, .html or .pdf files"
    if all(s.reason.startswith("unsupported") for s in skipped):
        return f"nothing to index in {sources} ({reasons}{more}): add .txt, .md, .html or .pdf files"
    return f"nothing to index in {sources}: every file was skipped ({reasons}{more})"


def build_index(
    sources: Path,
    index_dir: Path,
    *,
    embedder: Embedder,
    settings: IndexSettings | None = None,
    rebuild: bool = False,
    progress: ProgressCallback | None = None,
    wait: float = 0.0,
    on_wait: Callable[[str], None] | None = None,
    loaded: LoadedIndex | None = None,
    after_shard: Callable[[int], None] | None = None,
) -> BuildReport:
    """Bring the index at `index_dir` up to date with the files under `sources`.

    Waits up to `wait` seconds for another writer (`on_wait(message)` when it starts
    waiting). `loaded` is the index the caller already holds, if any: reused instead of
    loading it again when it is still the live one.

    Raises SourcesError when nothing at all can be indexed (the previous index, if any,
    is left as it was), IndexLockedError when another process is still writing after
    `wait`, and the load errors of `load_index` when the existing index (or its `CURRENT`)
    is incompatible or damaged; with `rebuild`, a damaged one is replaced.
    """
    settings = settings or IndexSettings()
    sources = Path(sources)
    index_dir = Path(index_dir)
    report_progress = progress or (lambda event: None)
    started = time.perf_counter()
    report_progress(Progress("scan", 0, 1))
    infos = scan_sources(sources)  # SourcesError when the folder is missing
    report_progress(Progress("scan", 1, 1))

    stats = {info.source: (info.size, info.mtime) for info in infos}

    with generations.writer_lock(index_dir, wait=wait, on_wait=on_wait), DocumentSpool(index_dir) as spool:
        previous = _previous(index_dir, embedder, settings, rebuild, loaded)
        old_files = previous.manifest["files"] if previous else {}
        old_rows = previous.rows_by_source() if previous else {}
        old_vectors = VectorRun([previous.generation]) if previous else None

        def reuse(source: str, document: DocumentRef | None = None) -> FilePart:
            rows = old_rows.get(source, range(0))
            return FilePart(
                document or HeldDocument.of(previous.documents[source]),
                sentence_rows(previous.sentences(source)), chunk_rows(previous.chunks[rows.start : rows.stop]),
                old_vectors, rows.start, previous.sentence_range(source).start,
            )

        kept: dict[str, FilePart] = {}
        skipped: list[Skipped] = []
        added, changed, unchanged = [], [], []
        touched = False  # an mtime moved but the content did not: rewrite, embed nothing
        to_load = []
        for info in infos:
            old = old_files.get(info.source)
            if old and old["size"] == info.size and old["mtime"] == info.mtime and not _lacks_line_map(
                previous.documents[info.source]
            ):
                kept[info.source] = reuse(info.source)
                unchanged.append(info.source)
            else:
                to_load.append(info.source)
        report_progress(Progress("load", len(infos) - len(to_load), len(infos)))

        # New files' documents wait in the spool (qa/index/document_records.py); only
        # their chunks' and sentences' offsets stay in memory.
        fresh: list[tuple[DocumentRef, np.ndarray, np.ndarray]] = []
        prepared = prepare_files(
            sources, to_load, settings=settings, count_word_pieces=word_piece_counter(embedder),
            max_word_pieces=embedder.max_word_pieces, load=load_document,
        )
        for n, file in enumerate(prepared, len(infos) - len(to_load) + 1):
            report_progress(Progress("load", n, len(infos), file.source))
            old = old_files.get(file.source)
            if file.document is None:
                skipped.append(file.skipped)
                continue
            if old and old["sha256"] == file.document.sha256:  # touched, not changed
                kept[file.source] = reuse(file.source, spool.add(file.document))
                unchanged.append(file.source)
                touched = True
                continue
            if file.skipped is not None:  # all of it was boilerplate or symbols, or it failed
                skipped.append(file.skipped)
                continue
            (changed if old else added).append(file.source)
            fresh.append((spool.add(file.document), sentence_rows(file.sentences), chunk_rows(file.chunks)))
        removed = sorted(set(old_files) - set(kept) - set(added) - set(changed))
        if not kept and not fresh:
            raise SourcesError(_nothing_to_index(sources, skipped))
        if previous and not (added or changed or removed or touched):
            return BuildReport(
                str(index_dir), len(kept), len(previous.chunks), 0, 0,
                time.perf_counter() - started, unchanged=tuple(unchanged), skipped=tuple(skipped),
            )

        fresh.sort(key=lambda part: part[0].source)  # the order they are written in
        total = sum(len(c) for _, _, c in fresh)
        done = 0

        def on_chunks(n: int) -> None:
            nonlocal done
            done += n
            report_progress(Progress("embed", done, total))

        warm_up = getattr(embedder, "warm_up", None)
        if warm_up and fresh:  # the model loads before the first batch: say so, not "0%"
            report_progress(Progress("model", 0, 1))
            warm_up()
            report_progress(Progress("model", 1, 1))
        report_progress(Progress("embed", 0, total))
        shards = embedding_shards.embed_in_shards(
            index_dir, _shard_inputs(fresh), embedder=embedder, settings=settings,
            on_chunks=on_chunks, after_shard=after_shard,
        )
        new_vectors = VectorRun(shards)
        first_chunk = first_sentence = 0
        for document, sentences, chunks in fresh:
            kept[document.source] = FilePart(document, sentences, chunks, new_vectors, first_chunk, first_sentence)
            first_chunk += len(chunks)
            first_sentence += len(sentences)

        files = [kept[s] for s in sorted(kept)]
        with generations.new_generation(index_dir) as generation:
            _write_generation(
                generation, files, embedder=embedder, settings=settings,
                sources_dir=sources.resolve(), skipped=skipped, stats=stats, progress=report_progress,
            )
        embedding_shards.discard(index_dir)  # published: nothing left to resume

    return BuildReport(
        index_dir=str(index_dir),
        files=len(files),
        chunks=sum(len(f.chunks) for f in files),
        embedded_chunks=total,
        word_pieces=sum(int(chunks[:, 3].sum()) for _, _, chunks in fresh),
        seconds=time.perf_counter() - started,
        added=tuple(added),
        changed=tuple(changed),
        removed=tuple(removed),
        unchanged=tuple(unchanged),
        skipped=tuple(skipped),
    )

