"""A rich progress bar fed by the core's `Progress` events (stage, done, total)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress as Bar,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from qa.types import Progress

STAGES = {
    "scan": "finding files",
    "load": "reading files",
    "chunk": "chunking",
    "model": "loading the model",
    "embed": "embedding chunks",
    "save": "writing vectors",
    "index": "search indexes",
    "eval": "answering",
}


@contextlib.contextmanager
def progress_bar(console: Console | None = None) -> Iterator:
    """Yields a callback for `Progress` events; one bar per stage, ETA included.

    Silent when stderr is not a terminal (CI logs, pipes): the summary says it all.
    """
    console = console or Console(stderr=True)
    if not sys.stderr.isatty():
        yield lambda event: None
        return
    bar = Bar(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, int] = {}

    def update(event: Progress) -> None:
        if event.stage not in tasks:
            tasks[event.stage] = bar.add_task(STAGES.get(event.stage, event.stage), total=event.total)
        bar.update(tasks[event.stage], completed=event.done, total=event.total)

    with bar:
        yield update
