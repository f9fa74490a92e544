"""Text from sources and questions, shown literally in the terminal UI.

Rich `Text` is never parsed as markup, so `[bold]` or `[link=...]` in a source shows as
typed. Control characters are the other way data could style or move the terminal:
`qa.literal.literal` (shared with the CLI and the Markdown export) makes each visible.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from qa.literal import literal

__all__ = ["literal", "literal_text"]


def literal_text(text: str, style: str | Style = "", *, keep_newlines: bool = True) -> Text:
    """A rich `Text` showing `text` literally (never markup), optionally styled."""
    return Text(literal(text, keep_newlines=keep_newlines), style=style, end="")
