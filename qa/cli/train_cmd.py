"""`qa train-reader`: train the answer reader on a SQuAD 2.0 file (see qa/reader/)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from qa.cli import app
from qa.types import Progress


def _log_lines(every_seconds: float = 30.0):
    """Progress as plain log lines (with ETA) when stderr is not a terminal: long runs go to logs."""
    last = {"t": 0.0, "stage": None, "start": time.time()}

    def update(event: Progress) -> None:
        now = time.time()
        if event.stage != last["stage"]:
            last.update(stage=event.stage, start=now)
        if now - last["t"] < every_seconds and event.done != event.total:
            return
        last["t"] = now
        rate = event.done / max(now - last["start"], 1e-9)
        eta = (event.total - event.done) / rate if rate > 0 else float("nan")
        print(f"{event.stage}: {event.done:,}/{event.total:,} {event.detail} eta {eta / 60:.1f} min", file=sys.stderr, flush=True)

    return update


@app.command("train-reader")
def train_reader_cmd(
    squad_json: Path = typer.Argument(..., help="SQuAD 2.0 training file (train-v2.0.json)."),
    out: Path = typer.Option(Path("reader-out"), "--out", help="Folder for the weights, their description and the run summary."),
    cache: Path = typer.Option(Path(".cache/reader"), "--cache", help="Folder for cached work (the held-out articles and their index)."),
    steps: int = typer.Option(None, "--steps", help="Training steps of the cross-encoder (default 5000: 86-101 min of training here, 97-104 with calibration, as the host runs)."),
    seed: int = typer.Option(13, "--seed", help="Random seed (examples order, initial weights)."),
    max_steps: int = typer.Option(None, "--max-steps", help="Stop after this many steps (smoke runs)."),
) -> None:
    """Train the reader that picks answer spans and says when the sources don't answer."""
    from qa.cli.progress import progress_bar
    from qa.index.embedding import bf16_supported
    from qa.reader.cross_training import CrossSettings
    from qa.reader.run import train_cross_reader

    total = steps or CrossSettings.steps
    if max_steps:
        total = min(total, max_steps)
    settings = CrossSettings(seed=seed, steps=total, bf16=bf16_supported())
    with progress_bar() as bar:
        report = bar if sys.stderr.isatty() else _log_lines()
        summary = train_cross_reader(squad_json, out, cache, settings, progress=report, log=lambda line: print(line, flush=True))
    figures = summary.get("validation", {})
    print(
        f"validation: SQuAD 2.0 token F1 {figures.get('squad2_token_f1', 0):.3f}, "
        f"answerable F1 {figures.get('span_f1_answerable', 0):.3f}, no-answer AUROC {figures.get('no_answer_auroc', 0):.3f}"
    )
