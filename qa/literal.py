"""Text from sources, file names and questions, made safe to write to a terminal or a file.

A document (or a file name) can hold terminal control sequences: OSC 52 sets the
clipboard, OSC 0 the window title, OSC 8 makes a link whose text lies about its target,
`ESC[2J` clears the screen, U+202E reverses what follows. Every writer of such text (`qa
ask`, `qa index`, the Markdown export, the terminal UI) passes it through `literal`,
which replaces each control character by ONE visible character, so character offsets
into the text stay valid for highlighting.
"""

from __future__ import annotations

import unicodedata

_REPLACEMENT = "\ufffd"
# Bidirectional formatting characters: embeddings, overrides, isolates and marks.
_BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
# C0 and C1 controls, DEL, line and paragraph separators, and lone surrogates (which no
# terminal encoding can write).
_CONTROL_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})


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
        elif char in _BIDI_CONTROLS or unicodedata.category(char) in _CONTROL_CATEGORIES:
            out.append(_visible(char))
        else:
            out.append(char)
    return "".join(out)
