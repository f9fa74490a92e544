"""The bottom line: sources folder, index size and model, or the build's progress."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from qa.types import IndexStats, Progress
from tui.literal import literal

STAGES = {
    "scan": "finding files",
    "load": "reading files",
    "model": "loading the model",
    "chunk": "chunking",
    "embed": "embedding",
    "save": "saving the index",
    "index": "building search indexes",
}


class StatusLine(Horizontal):
    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="status-text")
        yield ProgressBar(id="status-progress", show_eta=False)

    def _set(self, text: Text, state: str) -> None:
        self.set_classes(state)
        self.query_one("#status-text", Static).update(text)

    def show_loading(self, sources: str) -> None:
        text = Text(end="")
        text.append(literal(sources, keep_newlines=False), "bold")
        text.append("  loading the model and the index…")
        self.query_one(ProgressBar).update(total=None, progress=0)
        self._set(text, "-loading")

    def show_progress(self, sources: str, progress: Progress) -> None:
        text = Text(end="")
        text.append(literal(sources, keep_newlines=False), "bold")
        stage = STAGES.get(progress.stage, progress.stage)
        if progress.stage == "model":  # one step of unknown length: the bar pulses
            text.append(f"  {stage}…")
        else:
            text.append(f"  {stage} {progress.done:,}/{progress.total:,}")
        if progress.detail:
            text.append("  " + literal(progress.detail, keep_newlines=False), "dim")
        bar = self.query_one(ProgressBar)
        bar.update(total=(progress.total or None) if progress.stage != "model" else None, progress=progress.done)
        self._set(text, "-loading")

    def show_ready(self, sources: str, stats: IndexStats) -> None:
        text = Text(end="")
        text.append(literal(sources, keep_newlines=False), "bold")
        model = stats.model.rsplit("/", 1)[-1]
        text.append(f"  {stats.files:,} files · {stats.chunks:,} chunks · ")
        text.append(literal(model, keep_newlines=False))
        text.append("  ready", "bold")
        self._set(text, "-ready")

    def show_error(self, sources: str, error: str) -> None:
        text = Text(end="")
        text.append(literal(sources, keep_newlines=False), "bold")
        text.append("  not ready: ")
        text.append(literal(error, keep_newlines=False))
        self._set(text, "-error")
