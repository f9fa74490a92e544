"""Text from sources and questions, made safe to show literally.

Rich `Text` is never parsed as markup, so `[bold]` or `[link=...]` in a source shows as
typed. Control characters are the other way data could style or move the terminal (ANSI
escapes, carriage returns, bidi overrides): each is replaced by ONE visible character, so
character offsets into the text stay valid for highlighting.
"""

from __future__ import annotations

import unicodedata

from rich.style import Style
from rich.text import Text

_REPLACEMENT = "\ufffd"
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def _visible(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control pictures": ␛ for ESC, ␍ for CR
    if code == 0x7F:
        return "\u2421"  # ␡
    return _REPLACEMENT


def literal(text: str, *, keep_newlines: bool = True) -> str:
    """`text` with every control character replaced by a visible one of the same length.

    Newlines and tabs stay (unless `keep_newlines` is false: then a newline becomes a
    space, for one-line snippets); a carriage return right before a newline becomes a
    space, so Windows line endings look like Unix ones.
    """
    out: list[str] = []
    last = len(text) - 1
    for index, char in enumerate(text):
        if char == "\n":
            out.append("\n" if keep_newlines else " ")
        elif char == "\t":
            out.append("\t" if keep_newlines else " ")
        elif char == "\r" and index < last and text[index + 1] == "\n":
            out.append(" ")
        elif char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            out.append(_visible(char))
        else:
            out.append(char)
    return "".join(out)


def literal_text(text: str, style: str | Style = "", *, keep_newlines: bool = True) -> Text:
    """A rich `Text` showing `text` literally (never markup), optionally styled."""
    return Text(literal(text, keep_newlines=keep_newlines), style=style, end="")
