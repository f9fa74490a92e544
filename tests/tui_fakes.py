"""A pipeline with `qa.pipeline.Pipeline`'s surface, for fast, deterministic UI tests.

Answers are found, not made up: a test says which phrase of which document answers which
question, and the fake computes the offsets and line numbers the real pipeline would give.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import QuestionError
from qa.types import Answer, Candidate, Chunk, Citation, IndexStats, Passage, Progress


def cite(text: str, source: str, start: int, end: int) -> Citation:
    return Citation(
        source=source,
        start=start,
        end=end,
        line_start=text.count("\n", 0, start) + 1,
        line_end=text.count("\n", 0, max(start, end - 1)) + 1,
        text=text[start:end],
    )


def candidate(documents: dict[str, str], source: str, phrase: str, score: float) -> Candidate:
    """`phrase` (its first occurrence in `source`) as an answer; evidence is its line."""
    text = documents[source]
    start = text.index(phrase)
    end = start + len(phrase)
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return Candidate(
        text=phrase,
        citation=cite(text, source, start, end),
        evidence=cite(text, source, line_start, line_end),
        score=score,
    )


@dataclass(frozen=True)
class Scripted:
    """How the fake answers one question: (source, phrase) pairs."""

    best: tuple[str, str]
    also_in: tuple[tuple[str, str], ...] = ()
    alternatives: tuple[tuple[str, str], ...] = ()
    confidence: float = 0.87


@dataclass
class FakePipeline:
    documents: dict[str, str]
    script: dict[str, Scripted] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)
    sources_dir: Path = Path("fake-sources")
    asked: list[str] = field(default_factory=list)

    @property
    def stats(self) -> IndexStats:
        return IndexStats(
            name="fake",
            path="fake-index",
            sources_dir=str(self.sources_dir),
            files=len(self.documents),
            chunks=sum(len(self._paragraphs(s)) for s in self.documents),
            model="fake/hashing-bag-of-words",
            dim=64,
            built_at="2024-01-01T00:00:00",
        )

    @property
    def index_dir(self) -> Path:
        return Path("fake-index")

    def document_text(self, source: str) -> str:
        return self.documents[source]

    def line_of(self, source: str, offset: int) -> int:
        return self.documents[source].count("\n", 0, offset) + 1

    def document_sha256(self, source: str) -> str:
        return hashlib.sha256(self.documents[source].encode()).hexdigest()

    def source_path(self, source: str) -> Path:
        return self.sources_dir / source

    def _paragraphs(self, source: str) -> list[Passage]:
        text = self.documents[source]
        passages, start = [], 0
        for block in text.split("\n\n"):
            if block.strip():
                chunk = Chunk(source, start, start + len(block), block, len(block.split()))
                passages.append(Passage(chunk, score=0.0))
            start += len(block) + 2
        return passages

    def _closest(self, question: str) -> tuple[Passage, ...]:
        """Paragraphs ranked by words in common with the question (then by file and offset)."""
        words = set(question.lower().split())
        scored = [
            (len(words & set(p.text.lower().split())), p)
            for source in sorted(self.documents)
            for p in self._paragraphs(source)
        ]
        scored.sort(key=lambda sp: (-sp[0], sp[1].source, sp[1].start))
        return tuple(Passage(p.chunk, score=float(n)) for n, p in scored[:5])

    def ask(self, question: str) -> Answer:
        self.asked.append(question)
        if not question.strip():
            raise QuestionError("the question is empty: type a question about the sources")
        if question in self.errors:
            raise self.errors[question]
        passages = self._closest(question)
        scripted = self.script.get(question)
        if scripted is None:
            return Answer(
                question=question,
                best=None,
                confidence=0.12,
                reason="no sentence of the sources answers this (confidence 0.12 < 0.35)",
                passages=passages,
                latency_ms=42.0,
            )
        best = candidate(self.documents, *scripted.best, score=scripted.confidence)
        also = tuple(candidate(self.documents, s, p, 0.8).citation for s, p in scripted.also_in)
        best = Candidate(best.text, best.citation, best.evidence, best.score, also)
        alternatives = tuple(
            candidate(self.documents, s, p, round(0.5 - 0.1 * n, 2))
            for n, (s, p) in enumerate(scripted.alternatives)
        )
        return Answer(
            question=question,
            best=best,
            alternatives=alternatives,
            confidence=scripted.confidence,
            passages=passages,
            latency_ms=42.0,
        )


class FakeFactory:
    """A `pipeline_factory` that reports progress and, if asked, waits for `release()`."""

    def __init__(self, pipeline=None, *, hold: bool = False, error: Exception | None = None):
        self.pipeline = pipeline
        self.error = error
        self.calls: list[tuple[Path | None, Path | None, bool]] = []
        self._gate = threading.Event()
        if not hold:
            self._gate.set()

    def release(self) -> None:
        self._gate.set()

    def __call__(self, sources, index, rebuild, progress):
        self.calls.append((sources, index, rebuild))
        total = 3
        for done in range(total + 1):
            progress(Progress("embed", done, total, "fake"))
        if not self._gate.wait(timeout=30):
            raise TimeoutError("the test never released the fake build")
        if self.error is not None:
            raise self.error
        return self.pipeline


async def settle(pilot) -> None:
    """Let the app's workers finish and their messages be handled."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def submit(pilot, question: str) -> None:
    """Type `question` (set at once: pressing each key is slow) and press Enter."""
    pilot.app.query_one("#question").value = question
    await pilot.press("enter")
