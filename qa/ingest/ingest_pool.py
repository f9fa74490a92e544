"""Files -> loaded, cleaned and chunked documents, in worker processes when it pays.

Each file is read, its main text found (trafilatura for HTML), its boilerplate marked and
its chunks cut independently of every other file, and all of it is CPU-bound Python: one
process per core is the only way to use more than one core. Results come back in the order
the files were given, whatever the order they finish in, so a build is the same with any
number of workers. A file that fails costs that file only, with its reason, as in one
process.

Workers are spawned (not forked): a build can run in a thread of the terminal UI, and a
forked child of a threaded process may inherit a lock held by another thread. What a worker
needs (the loader, the word-piece counter) must therefore be picklable; when it is not (a
test's stand-in), or there are too few files to repay starting workers, the work is done
in this process.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from qa.config import IndexSettings
from qa.ingest.chunking import Chunker, TokenCounter
from qa.ingest.cleaning import content_spans
from qa.ingest.loading import FileSkipped
from qa.types import Chunk, Document, Sentence, Skipped

log = logging.getLogger(__name__)

Loader = Callable[..., Document]  # load_document's signature
# Starting a worker costs about a second of imports (trafilatura, tokenizers): below this
# many files per worker, one process is as fast.
MIN_FILES_PER_WORKER = 16
# Files handed to a worker at a time: few enough that both workers stay busy to the end.
_BATCH = 4


@dataclass(frozen=True, slots=True)
class Prepared:
    """One file after loading and chunking.

    `document` is None when the file could not be loaded (`skipped` says why). Otherwise
    `skipped` is set when it loaded but gave no chunks: the build may still reuse the
    previous index's data for it when its content did not change.
    """

    source: str
    document: Document | None
    sentences: list[Sentence]
    chunks: list[Chunk]
    skipped: Skipped | None


class WordPieceCounter:
    """The bundled model's word-piece counter, rebuilt in a worker from its tokenizer file.

    Picklable (only the path travels), and a worker needs neither torch nor the model's
    hash check, which the process that passes the path has done.
    """

    def __init__(self, tokenizer_json: str) -> None:
        self.tokenizer_json = tokenizer_json
        self._tokenizer = None

    def __call__(self, text: str) -> int:
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(self.tokenizer_json)
            self._tokenizer.no_truncation()
            self._tokenizer.no_padding()
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def __getstate__(self):
        return self.tokenizer_json

    def __setstate__(self, state: str) -> None:
        self.__init__(state)


def word_piece_counter(embedder) -> TokenCounter:
    """`embedder.count_word_pieces`, as a `WordPieceCounter` for the bundled model."""
    from qa.index import embedding

    if type(embedder).count_word_pieces is embedding.SentenceTransformerEmbedder.count_word_pieces:
        return WordPieceCounter(os.path.join(embedding._model_path(), "tokenizer.json"))
    return embedder.count_word_pieces


def failed(source: str, what: str, exc: Exception) -> Skipped:
    """A file skipped because of an unexpected error: the reason names it; -v logs where."""
    log.info("skipped %s: %s", source, what, exc_info=True)
    return Skipped(source, f"{what} ({type(exc).__name__}: {exc})")


def prepare_files(
    root: Path,
    sources: Sequence[str],
    *,
    settings: IndexSettings,
    count_word_pieces: TokenCounter,
    max_word_pieces: int | None,
    load: Loader,
    workers: int | None = None,
) -> Iterator[Prepared]:
    """`Prepared` for each of `sources` (paths relative to `root`), in that order.

    `workers` defaults to one per core; fewer are used when there are few files.
    """
    job = _Job(Path(root), settings, count_word_pieces, max_word_pieces, load)
    wanted = (os.cpu_count() or 1) if workers is None else workers
    workers = max(1, min(wanted, len(sources) // MIN_FILES_PER_WORKER))
    if workers > 1 and not _picklable(job):
        log.info("preparing files in one process: the loader or counter cannot be sent to workers")
        workers = 1
    if workers == 1:
        yield from map(job.prepare, sources)
        return
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("spawn"), initializer=_start_worker, initargs=(job,)
    ) as pool:
        yield from pool.map(_prepare_in_worker, sources, chunksize=_BATCH)


@dataclass(slots=True)
class _Job:
    root: Path
    settings: IndexSettings
    count_word_pieces: TokenCounter
    max_word_pieces: int | None
    load: Loader
    chunker: Chunker | None = None

    def prepare(self, source: str) -> Prepared:
        if self.chunker is None:
            self.chunker = Chunker(self.settings, self.count_word_pieces, self.max_word_pieces)
        try:
            document = self.load(self.root, Path(source), max_file_bytes=self.settings.max_file_bytes)
        except FileSkipped as skip:
            log.info("skipped %s: %s", skip.source, skip.reason)
            return Prepared(source, None, [], [], skip.skipped)
        except Exception as exc:  # one file's surprise never fails the folder
            return Prepared(source, None, [], [], failed(source, "could not be loaded", exc))
        try:
            sentences, chunks = self.chunker.chunk(document.text, source, content_spans(document.text))
        except Exception as exc:  # cleaning, splitting or counting word pieces failed
            return Prepared(source, document, [], [], failed(source, "could not be split into chunks", exc))
        if not chunks:  # all of it was boilerplate or symbols
            return Prepared(source, document, [], [], Skipped(source, "no text left after removing boilerplate"))
        return Prepared(source, document, sentences, chunks, None)

    def __getstate__(self):
        return (self.root, self.settings, self.count_word_pieces, self.max_word_pieces, self.load)

    def __setstate__(self, state) -> None:
        self.root, self.settings, self.count_word_pieces, self.max_word_pieces, self.load = state
        self.chunker = None


def _picklable(job: _Job) -> bool:
    """Whether a spawned worker can rebuild `job`: it pickles, and names nothing from
    `__main__` (a class defined in a `python -c` script pickles by reference but cannot be
    found in a spawned worker, which then dies and breaks the pool)."""
    try:
        data = pickle.dumps(job)
    except Exception:  # a lambda, a local function, an object holding a lock...
        return False
    return b"__main__" not in data


_worker_job: _Job | None = None


def _start_worker(job: _Job) -> None:
    global _worker_job
    _worker_job = job


def _prepare_in_worker(source: str) -> Prepared:
    assert _worker_job is not None, "worker started without its job"
    return _worker_job.prepare(source)
