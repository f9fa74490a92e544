"""F1: what the keys do."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("Enter", "ask the question in the box"),
    ("Up / Down", "recall earlier questions"),
    ("Tab / Shift+Tab", "next / previous citation of the latest answer in the source pane"),
    ("ctrl+o (o)", "open the cited file in $EDITOR at the cited line"),
    ("F2", "show or hide the alternatives of the latest answer"),
    ("ctrl+s", "export the conversation as Markdown"),
    ("Escape", "move focus between the question box and the source pane"),
    ("ctrl+p", "commands: rebuild index, switch sources folder, export, theme"),
    ("F1", "this help"),
    ("ctrl+q", "quit"),
)

ABOUT = (
    "Answers are verbatim spans of your files, never generated text. The answer is "
    "highlighted inside the sentence that supports it, with its file:line and a "
    "confidence. When the sources do not answer, qa says so and offers the closest "
    "passages instead of guessing."
)


def keys_table() -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, what in KEYS:
        table.add_row(Text(key), Text(what))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,f1,q", "dismiss", "Close help"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog") as dialog:
            dialog.border_title = "qa · help"
            dialog.border_subtitle = "Esc closes"
            yield Static(keys_table(), id="help-keys")
            yield Static(Text(ABOUT), id="help-about")

    async def action_dismiss(self, result=None) -> None:
        self.dismiss(None)
