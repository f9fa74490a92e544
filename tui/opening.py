"""What ctrl+o opens for a citation, so that the editor lands on the quote.

A citation's line is the file's line (for HTML, the raw page's: see qa/ingest/source_lines.py),
so text, Markdown and HTML files open as they are. A PDF is not text an editor can show:
the text qa extracted from it (the text its lines count) opens instead, in a file whose
name says what it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qa.ingest.loading import KINDS
from qa.types import Citation


@dataclass(frozen=True, slots=True)
class OpenTarget:
    path: Path
    line: int
    note: str | None = None  # told to the person when what opens is not the file itself


def open_target(citation: Citation, source_path: Path, text: str, scratch: Path) -> OpenTarget:
    """The file and line to open for `citation` of `source_path`, whose text is `text`;
    a PDF's extracted text is written into the folder `scratch`."""
    if KINDS.get(source_path.suffix.lower()) != "pdf":
        return OpenTarget(source_path, citation.line_start)
    scratch.mkdir(parents=True, exist_ok=True)
    extracted = scratch / f"{source_path.name} (text extracted by qa).txt"
    extracted.write_text(text, encoding="utf-8")
    page = f" (page {citation.page})" if citation.page is not None else ""
    return OpenTarget(
        extracted,
        citation.line_start,
        f"{citation.source} is a PDF: opened the text qa extracted from it at the cited line{page}",
    )
