"""The small, frozen values that flow through `qa`.

Every span-like value (Sentence, Chunk, Passage, Citation) carries `source`, `start` and
`end`: character offsets (Python `str` indices, end exclusive) into the text of the source
file, so that `document.text[start:end] == value.text` always holds. Nothing here is ever
rewritten text: cleaning only decides which spans to keep.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range `[start, end)` of one document's text."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True, slots=True)
class Document:
    """A loaded source file.

    `text` is what offsets point into: the decoded file for plain text and Markdown; for
    formats that need extraction (HTML, PDF) it is the extracted text, and `page_starts`
    (PDF) gives the offset at which each page begins so a citation can name its page.
    """

    source: str  # path relative to the sources folder, with forward slashes
    text: str
    sha256: str  # of the file's bytes
    size: int
    mtime: float
    kind: str = "text"  # "text", "markdown", "html" or "pdf"
    page_starts: tuple[int, ...] = ()
    # HTML: (text offset, line of the raw file) anchors, so a citation's line is the
    # file's (qa/ingest/source_lines.py); empty when the text's own lines are the file's.
    line_map: tuple[tuple[int, int], ...] = ()

    def page_at(self, offset: int) -> int | None:
        """1-based page number holding `offset`, or None when the format has no pages."""
        if not self.page_starts:
            return None
        return max(1, bisect.bisect_right(self.page_starts, offset))


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that was not indexed, and why (shown in the build report)."""

    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class Sentence:
    source: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Chunk:
    """A token-bounded run of whole sentences (or a piece of one over-long sentence)."""

    source: str
    start: int
    end: int
    text: str
    n_tokens: int  # tiktoken tokens (the chunker's budget unit)
    n_word_pieces: int = 0  # the embedding model's tokens, special tokens excluded


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk with its scores; `score` is the fused one that ranks it."""

    chunk: Chunk
    score: float
    dense_score: float = 0.0
    lexical_score: float = 0.0
    row: int = -1  # the chunk's row in the index (stable within one index generation)

    @property
    def source(self) -> str:
        return self.chunk.source

    @property
    def start(self) -> int:
        return self.chunk.start

    @property
    def end(self) -> int:
        return self.chunk.end

    @property
    def text(self) -> str:
        return self.chunk.text


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a verbatim text stands: file, 1-based lines, character offsets, PDF page."""

    source: str
    start: int
    end: int
    line_start: int
    line_end: int
    text: str
    page: int | None = None

    def location(self) -> str:
        """`file:line` (or `file:line-line`), as shown to people."""
        lines = (
            str(self.line_start)
            if self.line_start == self.line_end
            else f"{self.line_start}-{self.line_end}"
        )
        page = f" (p. {self.page})" if self.page is not None else ""
        return f"{self.source}:{lines}{page}"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One possible answer: a verbatim span, the sentence around it, and its score."""

    text: str
    citation: Citation
    evidence: Citation  # the supporting sentence (or passage) containing the answer
    score: float
    also_in: tuple[Citation, ...] = ()  # the same answer stated in other files


@dataclass(frozen=True, slots=True)
class Answer:
    """What `Pipeline.ask` returns.

    `best` is None when the sources do not answer; `reason` then says why and `passages`
    still holds the closest material so a person can look for themselves.
    """

    question: str
    best: Candidate | None
    alternatives: tuple[Candidate, ...] = ()
    confidence: float = 0.0
    reason: str | None = None
    passages: tuple[Passage, ...] = ()
    latency_ms: float = 0.0
    # How many of `passages`, from the first, the answerer read (None: not known, e.g. an
    # answerer that does not say). The trained reader reads the rest of its read_k only
    # when the first two do not answer.
    read: int | None = None

    @property
    def text(self) -> str | None:
        return self.best.text if self.best else None

    @property
    def citation(self) -> Citation | None:
        return self.best.citation if self.best else None

    @property
    def evidence(self) -> Citation | None:
        return self.best.evidence if self.best else None

    @property
    def abstained(self) -> bool:
        return self.best is None


@dataclass(frozen=True, slots=True)
class IndexStats:
    """What a loaded index holds, for status lines and reports."""

    name: str
    path: str
    sources_dir: str
    files: int
    chunks: int
    model: str
    dim: int
    built_at: str


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What `build_index` did: counts, what changed, what was skipped, and how fast."""

    index_dir: str
    files: int
    chunks: int
    embedded_chunks: int  # chunks embedded in this run (0 when nothing changed)
    word_pieces: int  # word pieces embedded in this run
    seconds: float
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)

    @property
    def up_to_date(self) -> bool:
        return not (self.added or self.changed or self.removed)

    @property
    def chunks_per_second(self) -> float:
        return self.embedded_chunks / self.seconds if self.seconds > 0 else 0.0

    @property
    def word_pieces_per_second(self) -> float:
        return self.word_pieces / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress event from long work (index build, evaluation), for bars and status lines."""

    stage: str  # "scan", "load", "chunk", "model", "embed", "save", "index", "eval", ...
    done: int
    total: int
    detail: str = ""
