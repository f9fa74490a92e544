"""A citation: a span of a source with the file lines and PDF page it stands on."""

from __future__ import annotations

from qa.types import Citation


def make_citation(index, source: str, start: int, end: int) -> Citation:
    """`index`'s text of `source` between `start` and `end`, with its lines and page."""
    document = index.document(source)
    return Citation(
        source=source,
        start=start,
        end=end,
        line_start=index.line_of(source, start),
        line_end=index.line_of(source, max(start, end - 1)),
        text=document.text[start:end],
        page=document.page_at(start),
    )
