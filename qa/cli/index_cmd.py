"""`qa index`: build or update the saved index of a sources folder."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from qa.cli import app
from qa.config import WRITER_WAIT_SECONDS
from qa.literal import literal
from qa.types import BuildReport, Skipped

SKIPPED_NAMES = 5  # files named for a reason several share


def say_waiting(message: str) -> None:
    """Why the command pauses (another writer holds the index), on stderr."""
    print(f"qa: {message}", file=sys.stderr, flush=True)


def print_report(report: BuildReport, console: Console) -> None:
    """The build summary: what changed, what was skipped and why, and how fast."""
    index_dir = literal(report.index_dir, keep_newlines=False)
    if report.up_to_date and not report.embedded_chunks:
        console.print(
            f"index {index_dir} is up to date: {report.files} files, {report.chunks} chunks "
            f"(nothing re-embedded, {report.seconds:.1f} s)", markup=False
        )
    else:
        changes = [
            f"{len(names)} {label}"
            for label, names in (("added", report.added), ("changed", report.changed),
                                 ("removed", report.removed), ("unchanged", report.unchanged))
            if names
        ]
        console.print(
            f"indexed {report.files} files, {report.chunks} chunks into {index_dir} "
            f"({', '.join(changes) or 'rebuilt'})", markup=False
        )
        console.print(
            f"embedded {report.embedded_chunks} chunks, {report.word_pieces:,} word pieces in "
            f"{report.seconds:.1f} s ({report.chunks_per_second:.1f} chunks/s, "
            f"{report.word_pieces_per_second:,.0f} word pieces/s)"
        )
        for label, names in (("added", report.added), ("changed", report.changed), ("removed", report.removed)):
            for name in names:
                console.print(f"  {label}: {literal(name, keep_newlines=False)}", markup=False, highlight=False)
    for line in skipped_lines(report.skipped):  # file names and reasons can carry terminal escapes
        console.print(literal(line, keep_newlines=False), markup=False, highlight=False, soft_wrap=True)


def skipped_lines(skipped: tuple[Skipped, ...], names: int = SKIPPED_NAMES) -> list[str]:
    """One line per reason, in the order reasons first occur: a file skipped for a reason
    of its own is named with it; files sharing a reason (the Python docs' ~500 `_sources/`
    copies and ~50 listing pages) are counted, with the first `names` of them."""
    groups: dict[str, list[str]] = {}
    for s in skipped:
        groups.setdefault(s.reason, []).append(s.source)
    lines = []
    for reason, sources in groups.items():
        if len(sources) == 1:
            lines.append(f"  skipped {sources[0]}: {reason}")
            continue
        shown = ", ".join(sources[:names]) + (f", ... and {len(sources) - names} more" if len(sources) > names else "")
        lines.append(f"  skipped {len(sources)} files: {reason} ({shown})")
    return lines


@app.command("index")
def index_command(
    sources: Path | None = typer.Argument(
        None,
        help="Folder of documents (.txt, .md, .html, .pdf) [default: seeds/, here or in the qa checkout].",
        show_default=False,
    ),
    index: Path = typer.Option(None, "--index", help="Where to save the index [default: indexes/<name of SOURCES>]."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild from scratch instead of updating."),
    wait: float = typer.Option(
        WRITER_WAIT_SECONDS, "--wait", min=0, metavar="SECONDS",
        help="How long to wait for another qa process writing the same index.",
    ),
) -> None:
    """Build or update the index of SOURCES; only new or changed files are embedded."""
    from qa.cli.progress import progress_bar
    from qa.index.embedding import default_embedder
    from qa.index.indexing import build_index
    from qa.config import default_sources
    from qa.pipeline import default_index_dir

    sources = sources if sources is not None else default_sources()
    console = Console(highlight=False)
    with progress_bar() as on_progress:
        report = build_index(
            sources,
            index or default_index_dir(sources),
            embedder=default_embedder(),
            rebuild=rebuild,
            progress=on_progress,
            wait=wait,
            on_wait=say_waiting,
        )
    print_report(report, console)
