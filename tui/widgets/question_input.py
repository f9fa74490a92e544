"""The question box: Enter asks, Up/Down recall earlier questions (like a shell)."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class QuestionInput(Input):
    BINDINGS = [
        Binding("up", "history_previous", "Previous question", show=False),
        Binding("down", "history_next", "Next question", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(placeholder="Ask a question about the sources, then press Enter", **kwargs)
        self.history: list[str] = []
        self._position: int | None = None  # index into history while recalling, else None
        self._draft = ""  # what was typed before recalling started, restored at the end

    def remember(self, question: str) -> None:
        """Add an asked question to the history (not twice in a row) and stop recalling."""
        question = question.strip()
        if question and (not self.history or self.history[-1] != question):
            self.history.append(question)
        self._position = None
        self._draft = ""

    def _show(self, value: str) -> None:
        self.value = value
        self.cursor_position = len(value)

    def action_history_previous(self) -> None:
        if not self.history:
            return
        if self._position is None:
            self._draft = self.value
            self._position = len(self.history)
        self._position = max(0, self._position - 1)
        self._show(self.history[self._position])

    def action_history_next(self) -> None:
        if self._position is None:
            return
        self._position += 1
        if self._position >= len(self.history):
            self._position = None
            self._show(self._draft)
        else:
            self._show(self.history[self._position])
