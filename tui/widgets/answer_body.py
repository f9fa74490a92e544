"""The text of one exchange: the question, then the answer inside its evidence sentence
with confidence and `file:line`, or the "not in the sources" state with the closest
passages. Rendered from component classes, so the colours follow the theme."""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from qa.answer.quoting import quotation_marks
from qa.types import Candidate
from tui.exchange import Exchange
from tui.literal import literal

SNIPPET_CHARS = 160


def _snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = " ".join(literal(text, keep_newlines=False).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def evidence_with_answer(best: Candidate, plain: Style, marked: Style) -> Text:
    """The evidence sentence with the answer span marked, offsets taken from the citations."""
    evidence = best.evidence
    shown = literal(evidence.text, keep_newlines=False)
    text = Text(shown, style=plain, end="")
    start = best.citation.start - evidence.start
    end = best.citation.end - evidence.start
    if best.citation.source == evidence.source and 0 <= start < end <= len(shown):
        text.stylize(marked, start, end)
    return text


class AnswerBody(Widget):
    COMPONENT_CLASSES = {
        "answer-body--label",
        "answer-body--question",
        "answer-body--answer",
        "answer-body--mark",
        "answer-body--evidence",
        "answer-body--citation",
        "answer-body--muted",
        "answer-body--abstain",
        "answer-body--error",
    }

    def __init__(self, question: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.question = question
        self.exchange: Exchange | None = None
        self.waiting_for = "the index"  # what a pending question waits for
        self.error: str | None = None

    def set_exchange(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.refresh(layout=True)

    def set_waiting(self, what: str) -> None:
        self.waiting_for = what
        self.refresh(layout=True)

    def set_error(self, error: str) -> None:
        self.error = error
        self.refresh(layout=True)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"answer-body--{name}", partial=True)

    def rows(self) -> list[tuple[Text, Text]]:
        """(label, content) rows: "Q" the question, "A" the answer, then its details."""
        s = self._style
        rows = [(Text("Q", s("label")), Text(literal(self.question, keep_newlines=False), s("question")))]
        if self.error is not None:
            rows.append((Text("!", s("error")), Text(literal(self.error, keep_newlines=False), s("error"))))
        elif self.exchange is None:
            rows.append((Text("…", s("muted")), Text(f"waiting for {self.waiting_for}", s("muted"))))
        elif self.exchange.answer.best is None:
            rows += self._abstention_rows(self.exchange)
        else:
            rows += self._answer_rows(self.exchange)
        return rows

    def render(self) -> Table:
        # A grid, so that wrapped lines stay indented under their row's content.
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=1, no_wrap=True)
        grid.add_column(ratio=1)
        for label, content in self.rows():
            grid.add_row(label, content)
        return grid

    def text(self) -> Text:
        """The rows as one Text (label, two spaces, content), for tests and copying."""
        return Text("\n", end="").join(
            Text.assemble(label, "  ", content) for label, content in self.rows()
        )

    def _answer_rows(self, exchange: Exchange) -> list[tuple[Text, Text]]:
        s = self._style
        answer = exchange.answer
        best = answer.best
        assert best is not None
        blank = Text("")
        opening, closing = quotation_marks(best.evidence.text)
        evidence = Text(opening, end="")
        evidence.append_text(evidence_with_answer(best, s("evidence"), s("mark")))
        evidence.append(closing)
        where = Text(end="")
        where.append(literal(best.citation.location(), keep_newlines=False), s("citation"))
        where.append(f"   confidence {answer.confidence:.2f}", s("muted"))
        where.append(f"   {answer.latency_ms:.0f} ms", s("muted"))
        rows = [
            (Text("A", s("label")), Text(literal(best.text, keep_newlines=False), s("answer"))),
            (blank, evidence),
            (blank, where),
        ]
        if best.also_in:
            also = Text("also in ", s("muted"), end="")
            places = ", ".join(c.location() for c in best.also_in)
            also.append(literal(places, keep_newlines=False), s("citation"))
            rows.append((blank, also))
        return rows

    def _abstention_rows(self, exchange: Exchange) -> list[tuple[Text, Text]]:
        s = self._style
        blank = Text("")
        rows = [(Text("✗", s("abstain")), Text("Not in the sources", s("abstain")))]
        if exchange.answer.reason:
            rows.append((blank, Text(literal(exchange.answer.reason, keep_newlines=False), s("muted"))))
        if exchange.closest:
            rows.append((blank, Text("Closest passages (Tab shows them):", s("muted"))))
            for n, citation in enumerate(exchange.closest, 1):
                line = Text(f"{n}. ", s("muted"), end="")
                line.append(literal(citation.location(), keep_newlines=False), s("citation"))
                line.append("  ")
                line.append(_snippet(citation.text), s("evidence"))
                rows.append((blank, line))
        return rows
