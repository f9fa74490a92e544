"""The one facade over `qa`: open (building or updating) an index, then ask questions.

The CLI, the evaluation and the TUI use only this module's `Pipeline`, so all three
answer a question the same way.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from collections.abc import Callable
from pathlib import Path

from qa.config import MAX_QUESTION_CHARS, AskSettings, default_indexes, default_sources
from qa.errors import QAError, QuestionError
from qa.types import Answer, BuildReport, IndexStats, Progress

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]


def default_index_dir(sources: Path) -> Path:
    """`indexes/<name of the sources folder>`, in the folder of the defaults (see
    `qa.config.defaults_home`)."""
    name = Path(sources).resolve().name or "sources"
    return default_indexes() / name


def recorded_sources(index_dir: Path) -> Path | None:
    """The sources folder an existing index was built from, if it still exists."""
    from qa.generations import current_generation
    from qa.manifest import read_manifest

    generation = current_generation(index_dir)
    if generation is None:
        return None
    try:
        folder = Path(read_manifest(generation).get("sources_dir", ""))
    except QAError:
        return None
    return folder if folder.is_dir() else None


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
    """A loaded index plus the retriever and extractor that answer over it."""

    def __init__(self, index, retriever, embedder, settings: AskSettings, report: BuildReport | None):
        self._index = index
        self._retriever = retriever
        self._embedder = embedder
        self.settings = settings
        self.report = report  # what opening built or updated, None when loaded as is
        self._blas = _BlasLimit()

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
    ) -> Pipeline:
        """Load the index for `sources`, building or updating it first when `build` is true.

        With `build=False` the saved index is used as it is (IndexMissingError if none).
        Raises the typed errors of `qa.errors`; never prints.
        """
        from qa.embedding import default_embedder
        from qa.indexing import build_index, load_index
        from qa.retrieval import HybridRetriever

        if sources is None and index_dir is not None:
            sources = recorded_sources(Path(index_dir))
        sources = Path(sources) if sources is not None else default_sources()
        index_dir = Path(index_dir) if index_dir is not None else default_index_dir(sources)
        embedder = embedder or default_embedder()
        report = None
        if build:
            report = build_index(
                sources,
                index_dir,
                embedder=embedder,
                rebuild=rebuild,
                progress=progress,
            )
        index = load_index(index_dir, embedder=embedder)
        warm_up = getattr(embedder, "warm_up", None)
        if warm_up:  # pay the model load here, not in the first question's latency
            warm_up()
        settings = AskSettings.load(index_dir)
        retriever = HybridRetriever(
            index, embedder, dense_weight=settings.dense_weight, sentence_weight=settings.sentence_weight
        )
        return cls(index, retriever, embedder, settings, report)

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
        from qa.answering import answer_question

        started = time.perf_counter()
        question = check_question(question)
        with self._blas.one_thread():
            query_vector, query_tokens = self._embedder.embed_query(question)
            passages = self._retriever.retrieve(question, self.settings.top_k, query_vector=query_vector)
            answer = answer_question(
                question,
                query_vector,
                passages,
                self._index,
                self.settings,
                alternatives=self.settings.alternatives if alternatives is None else alternatives,
                query_tokens=query_tokens,
            )
        return replace(answer, latency_ms=(time.perf_counter() - started) * 1000)


class _BlasLimit:
    """One BLAS thread while a question is answered.

    A question's matrix products are tiny, and BLAS worker threads that spin-wait after
    each of them take the cores from torch's threads encoding the next question: on two
    cores, Super Bowl p95 went from 116 ms to 19 ms with one BLAS thread. The libraries are
    found once (on first use, after numpy and FAISS have loaded), not on every question.
    """

    def __init__(self):
        self._controller = None

    def one_thread(self):
        if self._controller is None:
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController()
        return self._controller.limit(limits=1, user_api="blas")
