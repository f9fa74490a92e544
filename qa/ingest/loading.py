"""Sources folder -> `Document`s, with one `Skipped` (and its reason) per file left out.

Offsets everywhere in `qa` point into `Document.text`, so this module fixes what that text is:

- `.txt` and `.md`: the file's bytes decoded as UTF-8, byte for byte. A leading byte-order
  mark is not part of the text (`utf-8-sig`), and newlines are never normalised: a CRLF file
  keeps its `\\r\\n`, so offsets match any reader that decodes the same bytes.
- `.html` / `.htm`: the main content found by trafilatura, one paragraph per blank-line
  separated block (the page's menus and footers mostly never reach the text; soft line
  wraps inside a paragraph are spaces; qa/ingest/html_text.py).
- `.pdf`: the text pypdf extracts from each page, pages joined by `PAGE_SEPARATOR`;
  `Document.page_starts` records where each page begins so citations can name the page.

One bad file never stops loading: it becomes a `Skipped` with a reason a person can act on.
Only a missing or unusable sources folder is an error (`SourcesError`). Hidden files and
folders (a name starting with ".") are not sources and are ignored silently.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePath

from qa import config
from qa.errors import SourcesError
from qa.types import Document, Skipped

log = logging.getLogger(__name__)

KINDS = {".txt": "text", ".md": "markdown", ".html": "html", ".htm": "html", ".pdf": "pdf"}
# Between the text of two PDF pages: a form feed on a line of its own reads as a blank line
# (a paragraph and sentence boundary) to the chunker and still marks the page break.
PAGE_SEPARATOR = "\n\f\n"
BINARY_SNIFF_BYTES = 8192
# What Sphinx sources are written in (a `_sources/` copy is named `<page>.rst.txt`).
_SOURCE_SUFFIXES = frozenset({"rst", "md", "txt"})
_DEFAULT_MAX_BYTES = config.DEFAULT_MAX_FILE_MB * 1024 * 1024
_SUPPORTED = ", ".join(sorted(KINDS))
_KIND_NAMES = {"text": "plain text", "markdown": "Markdown text", "html": "HTML", "pdf": "a PDF"}
# No prose runs this long without a space or a line break; minified code and encoded
# data do, and would cost minutes of chunking and embedding for nothing worth quoting.
MAX_UNBROKEN_CHARS = 100_000
# The lookbehind starts a match only where a run starts: linear, however long the runs.
_UNBROKEN_RUN = re.compile(r"(?<!\S)\S{%d}" % (MAX_UNBROKEN_CHARS + 1))
# Any surrogate code point in a str is a lone one (pairs decode to one character).
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class FileInfo:
    """An entry found by `scan_sources`: enough to tell whether it changed, without reading it.

    `size` and `mtime` come from `stat` (following symlinks; the link's own when its target
    is gone). Entries that will not load (unsupported type, symlink loop, FIFO...) are listed
    too, so that `load_document` on each of them accounts for every file in the folder.
    """

    source: str  # path relative to the sources folder, with forward slashes
    path: Path
    size: int
    mtime: float


class FileSkipped(Exception):
    """`load_document` could not turn a file into a Document; `reason` says why."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason

    @property
    def skipped(self) -> Skipped:
        return Skipped(self.source, self.reason)


def load_sources(
    root: Path, *, max_file_bytes: int = _DEFAULT_MAX_BYTES
) -> tuple[list[Document], list[Skipped]]:
    """Every loadable document under `root` and every skipped file, both sorted by source.

    Raises SourcesError when `root` is missing or not a folder. A folder with nothing
    loadable is not an error here: both lists may be empty and the caller decides.
    """
    root = Path(root)
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for info in scan_sources(root):
        try:
            documents.append(load_document(root, info.path, max_file_bytes=max_file_bytes))
        except FileSkipped as skip:
            log.info("skipped %s: %s", skip.source, skip.reason)
            skipped.append(skip.skipped)
    return documents, skipped


def scan_sources(root: Path) -> list[FileInfo]:
    """Every non-hidden entry under `root` that is not a walkable folder, sorted by source.

    Symlinked folders are followed, except one that leads back to a folder being walked
    (a loop): it is listed as an entry, which `load_document` then reports as skipped.
    """
    root = _check_root(Path(root))
    found: list[FileInfo] = []
    # Depth-first, iterative; each folder carries the real paths of itself and its ancestors.
    pending: list[tuple[Path, frozenset[str]]] = [(root, frozenset({os.path.realpath(root)}))]
    while pending:
        folder, ancestors = pending.pop()
        try:
            with os.scandir(folder) as entries:
                names = sorted(entry.name for entry in entries)
        except OSError:
            if folder == root:
                raise SourcesError(
                    f"sources folder '{root}' cannot be read: check its permissions"
                ) from None
            found.append(_file_info(root, folder))  # load_document says why it failed
            continue
        for name in names:
            if name.startswith("."):
                continue
            path = folder / name
            if _is_dir(path):
                real = os.path.realpath(path)
                if real not in ancestors:
                    pending.append((path, ancestors | {real}))
                    continue
            found.append(_file_info(root, path))
    found.sort(key=lambda info: info.source)
    return found


def load_document(
    root: Path, path: Path, *, max_file_bytes: int = _DEFAULT_MAX_BYTES
) -> Document:
    """Read and decode one source file; raises FileSkipped with the reason it cannot be used.

    `path` is absolute or relative to `root`; the document's `source` is its path relative
    to `root`.
    """
    root = Path(root)
    path = root / path
    source = _source(root, path)

    def skip(reason: str) -> FileSkipped:
        return FileSkipped(source, reason)

    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            target = os.readlink(path)
            raise skip(f"broken symlink: its target '{target}' does not exist") from None
        raise skip("file no longer exists") from None
    except OSError as exc:
        raise skip(f"cannot be read: {_strerror(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise skip(_folder_problem(root, path))
    if not stat.S_ISREG(st.st_mode):
        raise skip(f"not a regular file (a {_file_type(st.st_mode)})")
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        what = f"file type '{path.suffix}'" if path.suffix else "file without an extension"
        raise skip(f"unsupported {what} (supported: {_SUPPORTED})")
    if st.st_size > max_file_bytes:
        raise skip(_too_large(st.st_size, max_file_bytes))
    if kind == "text" and _rendered_page(root, path) is not None:
        # The same words for every such file, so that a build report can group them.
        raise skip("reST source of an HTML page beside it, which is indexed instead")

    try:
        with open(path, "rb") as handle:
            # One byte past the limit, in case the file grew since it was stat'ed.
            data = handle.read(max_file_bytes + 1)
            st = os.fstat(handle.fileno())
    except OSError as exc:
        raise skip(f"cannot be read: {_strerror(exc)}") from None
    if len(data) > max_file_bytes:
        raise skip(_too_large(max(len(data), st.st_size), max_file_bytes))
    if not data:
        raise skip("empty file")

    page_starts: tuple[int, ...] = ()
    line_map: tuple[tuple[int, int], ...] = ()
    if kind == "pdf":
        text, page_starts = _pdf_text(data, skip)
    else:
        nul = data.find(b"\0", 0, BINARY_SNIFF_BYTES)
        if nul >= 0:
            raise skip(f"binary file (NUL byte at offset {nul}), not {_KIND_NAMES[kind]}")
        text = _html_text(data, skip) if kind == "html" else _decode_utf8(data, skip)
    # A PDF font or an HTML entity can map a glyph to a lone surrogate (U+D800): no
    # tokenizer or UTF-8 writer accepts one. One U+FFFD for each keeps every offset.
    text = _SURROGATE.sub("\ufffd", text)
    if not text.strip():
        plain = kind in ("text", "markdown")
        raise skip("holds only whitespace" if plain else f"no text found in the {kind}")
    if _UNBROKEN_RUN.search(text):
        raise skip(
            f"a run of over {MAX_UNBROKEN_CHARS:,} characters without white space or a line"
            " break: not prose to quote from (minified code or encoded data?)"
        )
    if kind == "html":
        from qa.ingest.source_lines import html_line_map

        line_map = html_line_map(data, text)
    return Document(
        source=source,
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        mtime=st.st_mtime,
        kind=kind,
        page_starts=page_starts,
        line_map=line_map,
    )


def _rendered_page(root: Path, path: Path) -> str | None:
    """The HTML page Sphinx built from `path` when `path` is its copy of the page's source.

    Sphinx copies each page's source to `_sources/<page>.rst.txt` beside `<page>.html`.
    Indexing both would put every answer in the index twice; the page is the one kept: it
    is what a reader sees (no reST roles or directives in its quotes) and what citations
    should open. The rule looks only at paths, so the choice never depends on order.
    """
    parts = PurePath(_source(root, path)).parts
    if "_sources" not in parts[:-1]:
        return None
    at = len(parts) - 1 - parts[::-1].index("_sources")  # the innermost one
    name = parts[-1].removesuffix(".txt")
    stem, dot, suffix = name.rpartition(".")
    if dot and suffix in _SOURCE_SUFFIXES:
        name = stem
    page = PurePath(*parts[:at], *parts[at + 1 : -1], name + ".html")
    return page.as_posix() if (root / page).is_file() else None


def _check_root(root: Path) -> Path:
    if not root.exists():
        raise SourcesError(
            f"sources folder '{root}' does not exist: pass the folder that holds your"
            " documents (.txt, .md, .html, .pdf)"
        )
    if not root.is_dir():
        raise SourcesError(
            f"sources path '{root}' is not a folder: pass the folder that holds your"
            " documents (.txt, .md, .html, .pdf)"
        )
    return root


def _is_dir(path: Path) -> bool:
    """Follows symlinks; False when it cannot tell (load_document then reports why)."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def _file_info(root: Path, path: Path) -> FileInfo:
    try:
        st = os.stat(path)
    except OSError:
        try:
            st = os.lstat(path)
        except OSError:
            return FileInfo(_source(root, path), path, 0, 0.0)
    return FileInfo(_source(root, path), path, st.st_size, st.st_mtime)


def _source(root: Path, path: Path) -> str:
    return PurePath(os.path.relpath(path, root)).as_posix()


def _folder_problem(root: Path, path: Path) -> str:
    """Why a folder reached `load_document`: a symlink loop, or a folder that cannot be listed."""
    real = os.path.realpath(path)
    # The real paths of the folders walked on the way down from root to `path`.
    walked = [os.path.realpath(root)]
    prefix = root
    for part in path.relative_to(root).parts[:-1]:
        prefix = prefix / part
        walked.append(os.path.realpath(prefix))
    if real in walked:
        return f"symlink loop: links back to the folder '{_source(root, Path(real))}' that holds it"
    try:
        os.listdir(path)
    except OSError as exc:
        return f"folder cannot be read: {_strerror(exc)}"
    return "is a folder, not a file"


def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _too_large(size: int, limit: int) -> str:
    wanted = -(-size // (1024 * 1024))  # whole megabytes, rounded up
    return (
        f"too large: {_human(size)} is over the {_human(limit)} limit"
        f" (set {config.MAX_FILE_MB_VARIABLE}={wanted} to index it)"
    )


def _human(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def _strerror(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _decode_utf8(data: bytes, skip) -> str:
    """UTF-8 without the byte-order mark; offsets are into this decoded text."""
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = bom + exc.start
        raise skip(
            f"not valid UTF-8 (byte 0x{data[offset]:02x} at offset {offset}):"
            " save it as UTF-8 to index it"
        ) from None


# The HTML parser (libxml2) compares each attribute of a tag with the ones before it: a
# 1.5 MB tag with 100k attributes took minutes. The sum over tags of (attributes)^2 / 2
# bounds that work; real pages stay far below the limit (a few thousand).
MAX_ATTRIBUTE_PAIRS = 20_000_000
_TAG_WITH_ATTRIBUTES = re.compile(rb"<[A-Za-z][^<>]{64,}")  # shorter tags add little
_QUOTED = re.compile(rb"\"[^\"]*\"|'[^']*'")


def _attribute_pairs(data: bytes) -> int:
    pairs = 0
    for tag in _TAG_WITH_ATTRIBUTES.finditer(data):
        attributes = len(_QUOTED.sub(b"", tag.group()).split()) - 1  # words but the tag name
        pairs += attributes * attributes // 2
    return pairs


def _html_text(data: bytes, skip) -> str:
    """The page's main content (qa/ingest/html_text.py), paragraphs separated by blank lines.

    trafilatura puts one paragraph per line; a blank line between them gives the chunker the
    same paragraph boundaries as plain-text sources. List items and table rows stay together.
    """
    from qa.ingest.html_text import NotContent, main_text

    if (pairs := _attribute_pairs(data)) > MAX_ATTRIBUTE_PAIRS:
        raise skip(
            f"HTML tags with too many attributes (~{pairs:,} attribute pairs, over the"
            f" {MAX_ATTRIBUTE_PAIRS:,} limit): parsing it would take minutes"
        )

    try:
        extracted = main_text(data)
    except NotContent as exc:
        raise skip(str(exc)) from None
    except Exception as exc:  # trafilatura/lxml raise many types on malformed input
        raise skip(f"HTML could not be parsed: {exc}") from None
    out: list[str] = []
    previous_grouped = False
    for line in extracted.splitlines():
        if not line.strip():
            continue
        grouped = line.lstrip().startswith(("- ", "* ", "|"))
        if out:
            out.append("\n" if grouped and previous_grouped else "\n\n")
        out.append(line.strip())
        previous_grouped = grouped
    return "".join(out)


def _page_texts(reader) -> list[str]:
    """Each page's text; a page object listed many times is extracted once (a 120 KB
    file listing one page 10,000 times took a minute to extract page by page)."""
    extracted: dict[tuple[int, int], str] = {}
    texts = []
    for page in reader.pages:
        ref = page.indirect_reference
        key = (ref.idnum, ref.generation) if ref is not None else None
        if key is None or key not in extracted:
            text = page.extract_text() or ""
            if key is None:
                texts.append(text)
                continue
            extracted[key] = text
        texts.append(extracted[key])
    return texts


def _pdf_text(data: bytes, skip) -> tuple[str, tuple[int, ...]]:
    import io

    import pypdf  # lazy: needed only for PDF sources
    from pypdf.errors import PyPdfError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise skip("encrypted PDF: save an unencrypted copy to index it")
        pages = _page_texts(reader)
    except FileSkipped:
        raise
    except PyPdfError as exc:
        raise skip(f"not a readable PDF: {exc}") from None
    except Exception as exc:  # a malformed PDF can make pypdf raise almost anything
        raise skip(f"not a readable PDF: {type(exc).__name__}: {exc}") from None
    starts: list[int] = []
    offset = 0
    for text in pages:
        starts.append(offset)
        offset += len(text) + len(PAGE_SEPARATOR)
    text = PAGE_SEPARATOR.join(pages)
    if not text.strip():
        raise skip("no extractable text in the PDF (scanned pages need OCR first)")
    return text, tuple(starts)
