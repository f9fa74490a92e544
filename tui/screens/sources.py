"""Ask for another sources folder (from the command palette)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class SourcesScreen(ModalScreen[Path | None]):
    """Dismissed with the folder typed, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="sources-dialog") as dialog:
            dialog.border_title = "Switch sources folder"
            dialog.border_subtitle = "Enter opens · Esc cancels"
            yield Static(Text("Folder of documents to answer from (indexed if needed):"))
            yield Input(value=self.current, id="sources-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        self.dismiss(Path(value).expanduser() if value else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
