"""Quotation marks around a verbatim text, without doubling the text's own.

An evidence sentence that starts with a quotation mark (“We are ready,” he said.) used to
show as ““We are ready...: the mark the text opens with is the quote's opening mark.
"""

from __future__ import annotations

OPENING_MARKS = "“\"«„‘"
CLOSING_MARKS = "”\"»’"


def quotation_marks(text: str) -> tuple[str, str]:
    """The (opening, closing) marks to put around `text`: “ and ”, each left out when the
    text already starts or ends with a quotation mark."""
    stripped = text.strip()
    opening = "" if stripped[:1] in OPENING_MARKS and stripped[:1] else "“"
    closing = "" if stripped[-1:] in CLOSING_MARKS and stripped[-1:] else "”"
    return opening, closing
