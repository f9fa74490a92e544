"""Run a pipeline over a question set: answers, per-question results, metrics, predictions.

Works with anything that has the `Pipeline` surface used here (`ask`, `document_text`,
`settings`, `sources_dir`), so plumbing tests can pass a fake. Ctrl-C (KeyboardInterrupt)
stops the run between questions and keeps what is done, marked partial.

The predictions file is the README's format, written by `qa.answer.predictions` (the same lines
as `qa ask --json`), one line per question in file order. Everything in it is
deterministic except `latency_ms`, which is measured and belongs to the format.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from qa.answer.predictions import to_prediction
from qa.config import AskSettings
from qa.errors import QAError, QuestionError
from qa.evaluation.calibration import CurvePoint, sweep
from qa.evaluation.metrics import Metrics, QuestionResult, aggregate, score_question
from qa.evaluation.questions import Question, QuestionSet
from qa.types import Answer, Progress

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]
NO_THRESHOLD = float("-inf")


class Asker(Protocol):
    settings: AskSettings

    @property
    def sources_dir(self) -> Path: ...

    def ask(self, question: str) -> Answer: ...

    def document_text(self, source: str) -> str: ...


@dataclass(frozen=True, slots=True)
class Run:
    """Answers in question order; fewer than the questions when interrupted."""

    answers: tuple[Answer, ...]
    partial: bool


def ask_all(
    asker: Asker,
    questions: Sequence[Question],
    *,
    progress: ProgressCallback | None = None,
    stage: str = "eval",
) -> Run:
    answers: list[Answer] = []
    total = len(questions)
    try:
        for done, q in enumerate(questions):
            if progress:
                progress(Progress(stage, done, total, q.id))
            try:
                answers.append(asker.ask(q.question))
            except QuestionError as exc:
                # Too long for the pipeline: record an abstention that says why.
                answers.append(Answer(q.question, None, reason=str(exc)))
        if progress:
            progress(Progress(stage, total, total))
    except KeyboardInterrupt:
        log.warning("interrupted after %d of %d questions", len(answers), total)
        return Run(tuple(answers), partial=True)
    return Run(tuple(answers), partial=False)


def warm_up(asker: Asker, questions: Sequence[Question]) -> bool:
    """Answer the first question once, untimed; False when interrupted.

    A question's first answer also pays one-time costs (tables built lazily per index,
    kernels compiled for new input shapes) that are not what `latency_ms` is meant to
    measure: with them, `qa eval` on 7 questions reported a p50 far above the warm one.
    """
    if not questions:
        return True
    try:
        asker.ask(questions[0].question)
    except KeyboardInterrupt:
        log.warning("interrupted before the first question")
        return False
    except QAError:
        pass  # that question's own error is recorded when it is asked for real
    return True


def ask_all_unthresholded(
    asker: Asker, questions: Sequence[Question], *, progress: ProgressCallback | None = None
) -> Run:
    """Every question answered with the abstention threshold off, for the trade-off curve.

    The reader reads all its passages here: it stops after the first ones when their
    answer clears the threshold, so with the threshold off it would never read the rest,
    and the curve would describe answers it does not give. The settings are restored
    afterwards, also on Ctrl-C.
    """
    saved = asker.settings
    # read_first = top_k: no answerer reads more than the top_k retrieved, so one read of all
    asker.settings = replace(saved, abstain_threshold=NO_THRESHOLD, read_first=saved.top_k)
    try:
        return ask_all(asker, questions, progress=progress, stage="sweep")
    finally:
        asker.settings = saved


def document_texts(asker: Asker) -> dict[str, str]:
    """The text of every indexed document, by source (for locating SQuAD paragraphs)."""
    root = Path(asker.sources_dir)
    texts: dict[str, str] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        source = path.relative_to(root).as_posix()
        text = safe_text(asker, source)
        if text is not None:
            texts[source] = text
    return texts


def safe_text(asker: Asker, source: str) -> str | None:
    """The document text, or None when the index has no such source."""
    try:
        return asker.document_text(source)
    except (KeyError, LookupError, OSError, QAError):
        return None


def text_reader(asker: Asker) -> Callable[[str], str | None]:
    cache: dict[str, str | None] = {}

    def text_of(source: str) -> str | None:
        if source not in cache:
            cache[source] = safe_text(asker, source)
        return cache[source]

    return text_of


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Everything a run produced; the JSON, the table and the report all read this."""

    questions: QuestionSet
    answers: tuple[Answer, ...]
    results: tuple[QuestionResult, ...]
    metrics: Metrics
    partial: bool
    threshold: float
    curve: tuple[CurvePoint, ...] = ()  # empty unless asked for (report, --calibrate)
    # The same questions answered with the threshold off (what the curve is made from).
    unthresholded: tuple[QuestionResult, ...] = ()
    sources: str = ""
    index: str = ""

    @property
    def done(self) -> int:
        return len(self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "questions_file": self.questions.path,
            "format": self.questions.format,
            "partial": self.partial,
            "done": self.done,
            "total": len(self.questions.questions),
            "sources": self.sources,
            "index": self.index,
            "abstain_threshold": self.threshold,
            "counts": self.metrics.counts(),
            "metrics": self.metrics.as_dict(),
            "notes": list(self.questions.notes),
            "warnings": list(self.questions.warnings),
        }


def score(
    qset: QuestionSet,
    run: Run,
    text_of: Callable[[str], str | None],
    *,
    threshold: float,
    unthresholded: tuple[QuestionResult, ...] = (),
    sources: str = "",
    index: str = "",
) -> Evaluation:
    results = tuple(
        score_question(q, a, text_of) for q, a in zip(qset.questions, run.answers)
    )
    return Evaluation(
        questions=qset,
        answers=run.answers,
        results=results,
        metrics=aggregate(results),
        partial=run.partial,
        threshold=threshold,
        curve=sweep(unthresholded) if unthresholded else (),
        unthresholded=unthresholded,
        sources=sources,
        index=index,
    )


def score_unthresholded(
    qset: QuestionSet, run: Run, text_of: Callable[[str], str | None]
) -> tuple[QuestionResult, ...]:
    return tuple(score_question(q, a, text_of) for q, a in zip(qset.questions, run.answers))


def prediction_lines(questions: Sequence[Question], answers: Sequence[Answer]) -> list[str]:
    return [
        json.dumps(to_prediction(a, q.id), ensure_ascii=False)
        for q, a in zip(questions, answers)
    ]


def write_predictions(path: Path, questions: Sequence[Question], answers: Sequence[Answer]) -> None:
    """One line per answered question, in file order (a partial run writes what is done)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = prediction_lines(questions, answers)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    tmp.replace(path)


def prepare_questions(qset: QuestionSet, asker: Asker) -> QuestionSet:
    """Recover SQuAD offsets from the indexed texts and check every gold offset."""
    from qa.evaluation.questions import load_questions, text_finder, verify_offsets

    if qset.format == "squad":
        qset = load_questions(Path(qset.path), find_text=text_finder(document_texts(asker)))
    return verify_offsets(qset, text_reader(asker))


def evaluate(
    asker: Asker,
    qset: QuestionSet,
    *,
    progress: ProgressCallback | None = None,
    with_curve: bool = False,
) -> Evaluation:
    """Ask every question at the configured threshold and score the answers.

    `with_curve` asks everything a second time with the threshold off, for the trade-off
    curve and calibration; skipped when the first pass was interrupted.
    """
    qset = prepare_questions(qset, asker)
    text_of = text_reader(asker)
    threshold = asker.settings.abstain_threshold
    if warm_up(asker, qset.questions):
        run = ask_all(asker, qset.questions, progress=progress)
    else:
        run = Run((), partial=True)
    unthresholded: tuple[QuestionResult, ...] = ()
    partial = run.partial
    if with_curve and not run.partial:
        open_run = ask_all_unthresholded(asker, qset.questions, progress=progress)
        partial = open_run.partial
        unthresholded = score_unthresholded(qset, open_run, text_of)
    return score(
        qset,
        Run(run.answers, partial),
        text_of,
        threshold=threshold,
        unthresholded=unthresholded,
        sources=str(asker.sources_dir),
        index=str(getattr(asker, "index_dir", "")),
    )
