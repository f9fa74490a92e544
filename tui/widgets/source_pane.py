"""The cited file, scrolled to the cited span with the span highlighted."""

from __future__ import annotations

from pathlib import PurePath

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static, TextArea
from textual.widgets.text_area import Selection

from qa.ingest.loading import KINDS
from tui.exchange import Cited
from tui.literal import literal

Location = tuple[int, int]


def location_of(text: str, offset: int) -> Location:
    """(row, column) of a character offset, rows split on newlines only, as TextArea does
    once `literal` has turned every other line break into a visible character."""
    offset = max(0, min(offset, len(text)))
    row = text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1)
    return row, column


class SourceView(TextArea):
    """A read-only view of one document; the selection marks the cited span."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            read_only=True,
            soft_wrap=True,
            show_line_numbers=True,
            highlight_cursor_line=False,
            placeholder="The cited file shows here, with the quoted span highlighted.",
            **kwargs,
        )


class SourcePane(Vertical):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.source: str | None = None  # the file shown
        self.cited: Cited | None = None
        self.span: tuple[Location, Location] | None = None  # highlighted (start, end)

    def compose(self) -> ComposeResult:
        yield Static(Text("No citation yet"), id="source-title")
        yield SourceView(id="source-view")

    @property
    def view(self) -> SourceView:
        return self.query_one(SourceView)

    def show(self, cited: Cited, text: str, position: int, total: int) -> None:
        """Show `cited` (number `position` of `total`) in `text`, its file's text."""
        view = self.view
        citation = cited.citation
        kind = KINDS.get(PurePath(citation.source).suffix.lower())
        if citation.source != self.source:
            view.load_text(literal(text))
            # An HTML citation's line is the raw page's; numbering the extracted text
            # shown here would contradict it. A PDF's lines are its extracted text's.
            view.show_line_numbers = kind != "html"
            self.source = citation.source
        self.cited = cited
        self.span = (location_of(text, citation.start), location_of(text, citation.end))
        title = Text(end="")
        title.append(literal(citation.location(), keep_newlines=False), "bold")
        title.append(f"  {cited.label} · {position}/{total} · Tab", "dim")
        if kind in ("html", "pdf"):
            title.append("  (text extracted from the file)", "dim italic")
        self.query_one("#source-title", Static).update(title)
        view.selection = Selection(*self.span)
        # Wrapping is only final after a refresh (and, on a real terminal, after layout
        # settles), so place the span then, and once more a moment later.
        view.call_after_refresh(self._centre)
        self.set_timer(0.1, self._centre)

    def _centre(self) -> None:
        """Scroll so the span starts a third of the way down the view."""
        if self.span is None:
            return
        view = self.view
        start, _end = self.span
        y = view.wrapped_document.location_to_offset(start).y
        height = view.scrollable_content_region.height
        view.scroll_to(y=max(0, y - height // 3), animate=False, immediate=True)
