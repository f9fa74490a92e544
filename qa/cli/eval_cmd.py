"""`qa eval`: run a file of questions with expected answers, print and save how `qa` did."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from qa.cli import READER_HELP, app
from qa.config import SHIPPED_READER

_SOURCES_RULE = (
    "Sources folder the gold answers' `source` paths are relative to. Default: a "
    "`sources/` folder beside QUESTIONS when there is one (as in bench/superbowl/), "
    "else seeds/."
)


def resolve_sources(questions: Path, sources: Path | None) -> Path:
    """--sources, else `sources/` beside the questions file, else the default folder."""
    from qa.config import default_sources

    if sources is not None:
        return sources
    beside = questions.resolve().parent / "sources"
    return beside if beside.is_dir() else default_sources()


@app.command("eval")
def eval_command(
    questions: Path = typer.Argument(
        ...,
        help="Questions with expected answers: bench JSON Lines (.jsonl), SQuAD v1.1/v2.0 "
        "JSON (.json) or CSV with a `question,answer` header (optional `id`; an empty "
        "answer means unanswerable).",
    ),
    sources: Path | None = typer.Option(None, "--sources", help=_SOURCES_RULE),
    index: Path | None = typer.Option(
        None, "--index", help="Index folder (built or updated first). Default: indexes/<sources name>."
    ),
    predictions: Path | None = typer.Option(
        None, "--predictions", help="Write one prediction per question (JSON Lines) here."
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Write a self-contained HTML report (charts, failure triage) here."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON on stdout."),
    reader: str = typer.Option(SHIPPED_READER, "--reader", help=READER_HELP),
    verify: bool = typer.Option(False, "--verify", help="Hash every file of the index before answering (opening checks sizes and modification times; builds hash everything)."),
    calibrate: bool = typer.Option(
        False,
        "--calibrate",
        help="Sweep the abstention threshold on these questions and save the chosen value "
        "and its curve in the index's config.json.",
    ),
) -> None:
    """Evaluate `qa` on a file of questions: metrics, predictions, an HTML report.

    Ctrl-C stops between questions and still writes the predictions and report for the
    questions done, marked partial.
    """
    from qa.evaluation.calibration import calibrate as choose, save_calibration
    from qa.evaluation.questions import load_questions
    from qa.evaluation.report import write_report
    from qa.evaluation.runner import evaluate, write_predictions
    from qa.pipeline import Pipeline

    qset = load_questions(questions)  # a bad file fails now, before the model loads
    sources_dir = resolve_sources(questions, sources)
    with _Bars() as bars:
        pipeline = Pipeline.open(index, sources=sources_dir, progress=bars.update, reader=reader, verify=verify)
        ev = evaluate(pipeline, qset, progress=bars.update, with_curve=bool(report or calibrate))

    calibrated = None
    summary = ev.to_json()
    if calibrate:
        if ev.partial:
            _say("interrupted: the threshold was not calibrated")
        else:
            calibration = choose(ev.unthresholded, ev.threshold)
            path = save_calibration(calibration, pipeline.index_dir, str(questions), pipeline.answerer)
            calibrated = calibration.threshold
            summary["calibration"] = {
                "abstain_threshold": calibration.threshold,
                "previous_threshold": calibration.previous,
                "objective": calibration.objective,
                "file": str(path),
            }
    if predictions:
        write_predictions(predictions, ev.questions.questions, ev.answers)
    if report:
        write_report(report, ev, calibrated=calibrated)

    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        _print_table(ev, calibrated)
    for line in _messages(ev, predictions, report):
        _say(line)
    if ev.partial:
        # SystemExit, not typer.Exit: `main` runs click with standalone_mode=False, which
        # turns Exit into a return value and would lose the code.
        raise SystemExit(130)


def _say(message: str) -> None:
    print(f"qa: {message}", file=sys.stderr)


def _messages(ev, predictions: Path | None, report: Path | None, limit: int = 10) -> list[str]:
    out = [f"warning: {w}" for w in ev.questions.warnings[:limit]]
    if len(ev.questions.warnings) > limit:
        out.append(f"warning: ... and {len(ev.questions.warnings) - limit} more (see the report)")
    out.extend(f"note: {n}" for n in ev.questions.notes)
    if ev.partial:
        out.append(f"interrupted after {ev.done} of {len(ev.questions.questions)} questions")
    if predictions:
        out.append(f"wrote {'partial ' if ev.partial else ''}predictions to {predictions}")
    if report:
        out.append(f"wrote {'partial ' if ev.partial else ''}report to {report}")
    return out


def _print_table(ev, calibrated: float | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from qa.evaluation.metrics import METRICS
    from qa.evaluation.report import format_value

    m = ev.metrics
    title = (
        f"{ev.done} questions: {m.answerable} answerable ({m.with_offsets} with offsets), "
        f"{m.unanswerable} unanswerable{' (partial)' if ev.partial else ''}"
    )
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("questions", justify="right")
    for name, _ in METRICS:
        table.add_row(name, format_value(name, m[name]), str(m.over(name)))
    console = Console()
    console.print(table)
    if calibrated is not None:
        console.print(f"abstention threshold: {ev.threshold:g} -> calibrated {calibrated:g}")


class _Bars:
    """rich progress bars on stderr, one per stage (index build stages, then eval)."""

    LABELS = {"model": "loading the model", "eval": "answering", "sweep": "threshold sweep"}

    def __enter__(self) -> _Bars:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._tasks: dict[str, int] = {}
        self._progress.__enter__()
        return self

    def update(self, event) -> None:
        task = self._tasks.get(event.stage)
        if task is None:
            label = self.LABELS.get(event.stage, event.stage)
            task = self._tasks[event.stage] = self._progress.add_task(label, total=event.total)
        self._progress.update(task, completed=event.done, total=event.total)

    def __exit__(self, *exc) -> None:
        self._progress.__exit__(*exc)
