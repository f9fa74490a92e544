"""Documents as the lines of `documents.jsonl`, and where a build keeps them meanwhile.

A build does not hold the documents it prepares: each one is written, as the very line it
will have in `documents.jsonl`, to a spool (an unlinked temporary file beside the index, so
a crash leaves nothing behind), and read back one at a time by the passes that need its
text (embedding, the documents file, BM25). What stays in memory per file
is its metadata and the spool offset: the corpus's text, and the millions of small Python
objects its sentences and chunks would be, never are (they grew a 109k-chunk build's peak
by ~650 MB).
"""

from __future__ import annotations

import json
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from qa.types import Document


def document_line(d: Document) -> bytes:
    """The document's line of `documents.jsonl` (UTF-8, newline included)."""
    row = {
        "source": d.source,
        "kind": d.kind,
        "sha256": d.sha256,
        "size": d.size,
        "mtime": d.mtime,
        "page_starts": list(d.page_starts),
        "line_map": [list(anchor) for anchor in d.line_map],
        "text": d.text,
    }
    return (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")


def document_from_line(line: str | bytes) -> Document:
    """The Document a `documents.jsonl` line holds (ValueError, KeyError or TypeError when
    it is not one)."""
    d = json.loads(line)
    return Document(
        source=d["source"],
        text=d["text"],
        sha256=d["sha256"],
        size=d["size"],
        mtime=d["mtime"],
        kind=d["kind"],
        page_starts=tuple(d["page_starts"]),
        line_map=tuple(tuple(anchor) for anchor in d.get("line_map", ())),
    )


@dataclass(frozen=True, slots=True)
class DocumentRef(ABC):
    """A document's metadata, and how to get the whole of it: `load()` and `line()`."""

    source: str
    size: int
    mtime: float
    sha256: str
    kind: str

    @staticmethod
    def describe(document: Document) -> dict:
        return {"source": document.source, "size": document.size, "mtime": document.mtime,
                "sha256": document.sha256, "kind": document.kind}

    @abstractmethod
    def load(self) -> Document: ...

    @abstractmethod
    def line(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class HeldDocument(DocumentRef):
    """A document already in memory (a previous generation's, loaded to be updated)."""

    document: Document

    @classmethod
    def of(cls, document: Document) -> HeldDocument:
        return cls(**cls.describe(document), document=document)

    def load(self) -> Document:
        return self.document

    def line(self) -> bytes:
        return document_line(self.document)


@dataclass(frozen=True, slots=True)
class SpooledDocument(DocumentRef):
    """A document written to a `DocumentSpool`, read back on demand."""

    spool: DocumentSpool
    offset: int
    length: int

    def load(self) -> Document:
        return document_from_line(self.line())

    def line(self) -> bytes:
        return self.spool.read(self.offset, self.length)


class DocumentSpool:
    """Documents' lines in an unlinked temporary file in `directory`, gone when closed."""

    def __init__(self, directory: Path):
        self._file: IO[bytes] = tempfile.TemporaryFile(dir=directory, prefix="documents-")
        self._end = 0

    def add(self, document: Document) -> SpooledDocument:
        line = document_line(document)
        self._file.seek(self._end)
        self._file.write(line)
        ref = SpooledDocument(**DocumentRef.describe(document), spool=self, offset=self._end, length=len(line))
        self._end += len(line)
        return ref

    def read(self, offset: int, length: int) -> bytes:
        self._file.seek(offset)
        data = self._file.read(length)
        if len(data) != length:
            raise OSError(f"the document spool ended at {offset + len(data)}, expected {offset + length} bytes")
        return data

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> DocumentSpool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
