"""One question and its answer as the UI keeps them: no widget code here.

An `Exchange` is built in the asking worker, where the pipeline is at hand: it records
each cited file's text (for the source pane) and sha256 (for the transcript) as they
were when the answer arrived, so later rebuilds cannot change what the transcript says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from qa.types import Answer, Citation, Passage


@dataclass(frozen=True, slots=True)
class Cited:
    """A citation the source pane can show, with a label saying what it is."""

    label: str  # "answer", "also in", "alternative 2", "closest passage 1"
    citation: Citation


@dataclass(frozen=True, slots=True)
class Exchange:
    number: int
    answer: Answer
    closest: tuple[Citation, ...] = ()  # the closest passages, as citations
    texts: Mapping[str, str] = field(default_factory=dict)  # source -> document text
    sha256: Mapping[str, str] = field(default_factory=dict)  # source -> sha256 at answer time

    @property
    def question(self) -> str:
        return self.answer.question

    def citations(self) -> tuple[Cited, ...]:
        """What Tab cycles through: the answer, where else it is stated, the alternatives;
        for an abstention, the closest passages."""
        answer = self.answer
        if answer.best is None:
            return tuple(
                Cited(f"closest passage {n}", c) for n, c in enumerate(self.closest, 1)
            )
        cited = [Cited("answer", answer.best.citation)]
        cited += [Cited("also in", c) for c in answer.best.also_in]
        cited += [
            Cited(f"alternative {n}", alt.citation)
            for n, alt in enumerate(answer.alternatives, 1)
        ]
        return tuple(cited)


def passage_citation(passage: Passage, pipeline) -> Citation:
    """A passage as a citation of its whole chunk, with the lines the pipeline names
    (for HTML, the raw file's)."""
    return Citation(
        source=passage.source,
        start=passage.start,
        end=passage.end,
        line_start=pipeline.line_of(passage.source, passage.start),
        line_end=pipeline.line_of(passage.source, max(passage.start, passage.end - 1)),
        text=passage.text,
    )


def cited_sources(answer: Answer) -> list[str]:
    """Every file the answer points at, in order of first mention, without repeats."""
    sources: list[str] = []
    if answer.best is not None:
        sources.append(answer.best.citation.source)
        sources += [c.source for c in answer.best.also_in]
        sources += [alt.citation.source for alt in answer.alternatives]
    else:
        sources += [p.source for p in answer.passages]
    return list(dict.fromkeys(sources))


def build_exchange(number: int, answer: Answer, pipeline, *, closest: int = 3) -> Exchange:
    """Collect what the UI needs about `answer` from `pipeline` (call from a worker)."""
    sources = cited_sources(answer)
    texts = {source: pipeline.document_text(source) for source in sources}
    sha256 = {source: pipeline.document_sha256(source) for source in sources}
    near = ()
    if answer.best is None:
        near = tuple(passage_citation(p, pipeline) for p in answer.passages[:closest])
    return Exchange(number, answer, near, texts, sha256)
