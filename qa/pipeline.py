"""The one facade over `qa`: open (building or updating) an index, then ask questions.

The CLI, the evaluation and the TUI use only this module's `Pipeline`, so all three
answer a question the same way.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from dataclasses import replace
from collections.abc import Callable
from pathlib import Path

from qa.config import (
    MAX_QUESTION_CHARS, SHIPPED_READER, WRITER_WAIT_SECONDS, AskSettings, calibration_record, default_indexes,
    default_sources,
)
from qa.errors import QuestionError
from qa.types import Answer, BuildReport, IndexStats, Passage, Progress

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]
# `--reader extractor` chose the hand-tuned extractor until it was removed (2026-12-05).
RETIRED_EXTRACTOR = "extractor"


def check_reader(reader) -> None:
    """Raise ReaderWeightsError, saying what to do, for `--reader extractor` (unless a
    folder of that name holds a trained reader)."""
    if reader == RETIRED_EXTRACTOR and not Path(reader).is_dir():
        from qa.reader.weights import ReaderWeightsError

        raise ReaderWeightsError(
            "the hand-tuned extractor is gone (the trained reader answers better on every set): "
            "drop `--reader extractor`"
        )


def answerer_name(reader) -> str:
    """Who answers, as a calibration records it: "reader <sha256 of its weights>"."""
    return f"reader {reader.sha256}" if reader is not None else "none"


def default_index_dir(sources: Path) -> Path:
    """`indexes/<name of the sources folder>`, in the folder of the defaults (see
    `qa.config.defaults_home`)."""
    name = Path(sources).resolve().name or "sources"
    return default_indexes() / name


def check_question(question: str) -> str:
    """The question stripped, or a QuestionError that says what is wrong with it."""
    stripped = question.strip()
    if not stripped:
        raise QuestionError("the question is empty: type a question about the sources")
    if len(stripped) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is {len(stripped):,} characters long; the limit is "
            f"{MAX_QUESTION_CHARS:,}: ask something shorter"
        )
    return stripped


class Pipeline:
    """A loaded index plus the retriever and the trained reader that answer over it."""

    def __init__(
        self, index, retriever, embedder, settings: AskSettings, report: BuildReport | None,
        notice: str | None = None, reader=None, questions=None,
    ):
        self._index = index
        self._reader = reader  # qa.reader.weights.LoadedReader; None: retrieval only
        self.answerer = answerer_name(reader)  # what a calibrated threshold is recorded for
        self._retriever = retriever
        self._embedder = embedder
        self._questions = questions or embedder  # its embed_query encodes each question
        self.settings = settings
        self.report = report  # what opening built or updated, None when loaded as is
        # Why the index was used as it is although the sources changed (another process
        # was writing it), for the UI to mention; None otherwise.
        self.notice = notice
        self._blas = _BlasLimit()
        self._torch_threads = None  # the cross-encoder reader's, made on its first question

    @classmethod
    def open(
        cls,
        index_dir: Path | None = None,
        *,
        sources: Path | None = None,
        build: bool = True,
        rebuild: bool = False,
        progress: ProgressCallback | None = None,
        embedder=None,
        wait: float = WRITER_WAIT_SECONDS,
        on_wait: Callable[[str], None] | None = None,
        reader=SHIPPED_READER,
        verify: bool = False,
    ) -> Pipeline:
        """Load the index for `sources`, building or updating it first when `build` is true
        and the sources changed since it was built.

        A reader never waits for a writer: the saved index is loaded without a lock, and
        when it is stale but another process is writing it, it is used as it is (`notice`
        says so). Only when there is no index yet, or on `rebuild`, does opening wait (up
        to `wait` seconds, `on_wait(message)` when it starts) for the other writer.
        Without `sources`, an existing index is updated from the folder it was built from,
        and used as it is if that folder is gone. With `build=False` the saved index is
        used as it is (IndexMissingError if none). `reader` is the trained reader that
        answers: `"shipped"` (the default) for the one in the package, a folder written by
        `qa train-reader`, or a loaded one (`qa.reader.weights.LoadedReader`, or a test's
        stand-in with its `network`, `calibration` and `sha256`); None opens for retrieval
        only (`ask` refuses). Opening checks the index files' sizes and
        modification times; `verify` hashes them all (a build always does). Raises the typed
        errors of `qa.errors`; never prints.
        """
        from qa.answer.retrieval import HybridRetriever
        from qa.errors import IndexLockedError, IndexMissingError
        from qa.index.embedding import default_embedder
        from qa.index.indexing import build_index, is_up_to_date, load_index
        from qa.reader.weights import LoadedReader, open_reader

        embedder = embedder or default_embedder()
        check_reader(reader)
        loaded_reader = reader
        if isinstance(reader, (str, Path)):  # verified first: a damaged file fails before any build
            loaded_reader = open_reader(None if str(reader) == SHIPPED_READER else Path(reader))
        if index_dir is None:
            sources = Path(sources) if sources is not None else default_sources()
            index_dir = default_index_dir(sources)
        index_dir = Path(index_dir)
        index = None
        if not rebuild:
            try:
                index = load_index(index_dir, embedder=embedder, verify=verify)
            except IndexMissingError:
                if not build:
                    raise
        elif sources is None:
            sources = _recorded_sources(index_dir)  # rebuild what it was built from
        report, notice = None, None
        if index is not None and sources is None:
            sources = index.sources_dir
            if not sources.is_dir():
                log.info("the sources folder %s of %s is gone: using the index as it is", sources, index_dir)
                build = False
        sources = Path(sources) if sources is not None else default_sources()
        if build and (index is None or not is_up_to_date(index, sources)):
            try:
                report = build_index(
                    sources, index_dir, embedder=embedder, rebuild=rebuild, progress=progress,
                    wait=0 if index is not None else wait, on_wait=on_wait, loaded=index,
                )
            except IndexLockedError:
                if index is None:
                    raise
                notice = (
                    f"another qa process is updating the index {index_dir}: answering from the "
                    f"version built {index.manifest['built_at']}"
                )
                log.info(notice)
            else:
                if index is None or index.generation != _live_generation(index_dir):
                    index = load_index(index_dir, embedder=embedder, verify=verify)  # hashed as written
        questions = embedder  # what encodes questions: on torch when the reader has loaded it anyway
        if isinstance(loaded_reader, LoadedReader) and hasattr(embedder, "questions_on_torch"):
            questions = embedder.questions_on_torch()
        warm_up = getattr(questions, "warm_up", None)
        if warm_up:  # pay the model load here, not in the first question's latency
            warm_up()
        settings = AskSettings.load(index_dir)
        record = calibration_record(index_dir)
        # A threshold is a point on one reader's confidence scale: another's (or the
        # hand-tuned extractor's, whose records predate the answerer's name) differs.
        if loaded_reader is not None and record is not None and record.get("answerer") != answerer_name(loaded_reader):
            log.info("the abstention threshold in %s was calibrated for another answerer: using this one's own", index_dir)
            settings = replace(settings, abstain_threshold=None)
        if settings.abstain_threshold is None and loaded_reader is not None:  # the reader's own, unless calibrated here
            settings = replace(settings, abstain_threshold=loaded_reader.calibration.threshold)
        retriever = HybridRetriever(
            index, embedder, dense_weight=settings.dense_weight, sentence_weight=settings.sentence_weight
        )
        return cls(index, retriever, embedder, settings, report, notice, loaded_reader, questions)

    @property
    def stats(self) -> IndexStats:
        return self._index.stats

    @property
    def index_dir(self) -> Path:
        return self._index.directory

    @property
    def sources_dir(self) -> Path:
        return self._index.sources_dir

    def document_text(self, source: str) -> str:
        """The text that citations into `source` point into."""
        return self._index.document(source).text

    def line_of(self, source: str, offset: int) -> int:
        """The file line a citation into `source` names for `offset` (see LoadedIndex)."""
        return self._index.line_of(source, offset)

    def document_sha256(self, source: str) -> str:
        return self._index.document(source).sha256

    def source_path(self, source: str) -> Path:
        return self._index.sources_dir / source

    def ask(self, question: str, *, alternatives: int | None = None) -> Answer:
        """Answer `question` verbatim from the sources, or abstain with a reason."""
        from qa.answer.answering import answer_question

        if self._reader is None:
            raise TypeError("this pipeline was opened for retrieval only (reader=None): it cannot answer")
        started = time.perf_counter()
        question = check_question(question)
        with self._blas.one_thread(), self._torch_question():
            passages = self.retrieve(question)
            wanted = self.settings.alternatives if alternatives is None else alternatives
            answer = answer_question(question, passages, self._index, self.settings, self._reader, alternatives=wanted)
        return replace(answer, latency_ms=(time.perf_counter() - started) * 1000)

    def retrieve(self, question: str) -> list[Passage]:
        """The `top_k` passages for `question`, best first (what `ask` reads from); a
        QuestionError for an empty or over-long question."""
        vector = self._questions.embed_query(check_question(question))
        return self._retriever.retrieve(question, self.settings.top_k, query_vector=vector)

    def _torch_question(self):
        """torch's threads for this question (qa.reader.threads): the cross-encoder reader
        and its question encoder run on torch (a test's stand-in for the reader does not)."""
        from qa.reader.weights import LoadedReader

        if not isinstance(self._reader, LoadedReader):
            return nullcontext()
        if self._torch_threads is None:
            from qa.reader.threads import TorchThreads

            self._torch_threads = TorchThreads()
        return self._torch_threads.question()


def _recorded_sources(index_dir: Path) -> Path | None:
    """The sources folder the index was built from (its manifest checked against the hash
    in `CURRENT`, so an edited `sources_dir` is refused), None when there is no index."""
    from qa.index.generations import read_current
    from qa.index.manifest import read_manifest

    current = read_current(index_dir)
    return Path(read_manifest(current.path, current.manifest_sha256)["sources_dir"]) if current else None


def _live_generation(index_dir: Path) -> Path | None:
    from qa.index.generations import current_generation

    return current_generation(index_dir)


class _BlasLimit:
    """One BLAS thread while a question is answered.

    A question's matrix products are tiny (its encoding included: qa.index.question_encoder runs
    on NumPy's BLAS), and BLAS worker threads that spin-wait after each of them take the
    cores from other work: on two cores, Super Bowl p95 went from 116 ms to 19 ms with one
    BLAS thread (tests/benchmarks/question_threads.py measures the encoder on one and two). The libraries are
    found once (on first use, after numpy and FAISS have loaded), not on every question.
    """

    def __init__(self):
        self._controller = None

    def one_thread(self):
        if self._controller is None:
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController()
        return self._controller.limit(limits=1, user_api="blas")
