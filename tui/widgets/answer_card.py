"""One exchange in the conversation: its text, plus the alternatives on demand."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Collapsible, Static

from tui.exchange import Exchange
from tui.literal import literal
from tui.widgets.answer_body import AnswerBody


def alternatives_text(exchange: Exchange) -> Text:
    out = Text(end="")
    for n, alt in enumerate(exchange.answer.alternatives, 1):
        if n > 1:
            out.append("\n")
        out.append(f"{n}. ")
        out.append(literal(alt.text, keep_newlines=False), "bold")
        out.append("  ")
        out.append(literal(alt.citation.location(), keep_newlines=False), "underline")
    # No score: an alternative's ranking score is not on the answer's confidence scale,
    # and "score 0.73" under "confidence 0.27" read as a contradiction. The order says it.
    return out


class AnswerCard(Vertical):
    """Pending until `set_exchange`; then answered, or "not in the sources"."""

    def __init__(self, number: int, question: str, **kwargs) -> None:
        super().__init__(classes="-pending", **kwargs)
        self.number = number
        self.question = question
        self.exchange: Exchange | None = None
        self.border_title = f"Q{number}"
        # Children exist from the start, so the card can be updated before it is mounted.
        self.body = AnswerBody(question)
        self._alternatives = Static(Text(""), classes="alternatives")
        self._collapsible = Collapsible(self._alternatives, title="Alternatives", collapsed=True)
        self._collapsible.display = False

    def compose(self) -> ComposeResult:
        yield self.body
        yield self._collapsible

    def set_waiting(self, what: str) -> None:
        self.body.set_waiting(what)

    def set_exchange(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.remove_class("-pending")
        abstained = exchange.answer.best is None
        self.add_class("-abstained" if abstained else "-answered")
        self.border_title = f"Q{self.number} · not in the sources" if abstained else f"Q{self.number}"
        self.body.set_exchange(exchange)
        alternatives = exchange.answer.alternatives
        if alternatives and not abstained:
            self._collapsible.title = f"Alternatives, next best first ({len(alternatives)}) · F2"
            self._alternatives.update(alternatives_text(exchange))
            self._collapsible.display = True

    def set_error(self, error: str) -> None:
        self.remove_class("-pending")
        self.add_class("-failed")
        self.border_title = f"Q{self.number} · error"
        self.body.set_error(error)

    def toggle_alternatives(self) -> bool:
        """Open or close the alternatives; False when there are none."""
        if not self._collapsible.display:
            return False
        self._collapsible.collapsed = not self._collapsible.collapsed
        return True
