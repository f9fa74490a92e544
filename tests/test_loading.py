"""Loading a sources folder: what becomes a Document, what is skipped and why."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.errors import SourcesError
from qa.ingest.loading import (
    PAGE_SEPARATOR,
    FileInfo,
    FileSkipped,
    load_document,
    load_sources,
    scan_sources,
)

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

PROSE = "The ISS was launched in 1998 by Russian and US space agencies. It is still flying."


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def reasons(skipped) -> dict[str, str]:
    return {s.source: s.reason for s in skipped}


def minimal_pdf(
    pages: list[list[str]], *, to_unicode: dict[int, int] | None = None, repeat: int = 1
) -> bytes:
    """A valid PDF with one Helvetica text line per string, written by hand (no writer API).

    `to_unicode` maps character codes to code points in the font's ToUnicode CMap (any
    code point, even a lone surrogate, as a broken font can); `repeat` lists the pages
    that many times in the page tree (one page object, many pages).
    """
    n = len(pages)
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n))
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica"
    font += b" /ToUnicode %d 0 R >>" % (4 + 2 * n) if to_unicode else b" >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join([kids] * repeat) + b"] /Count %d >>" % (n * repeat),
        font,
    ]
    for i, lines in enumerate(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
            b" /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        shown = b" ".join(b"(" + line.encode("latin-1") + b") Tj T*" for line in lines)
        stream = b"BT /F1 12 Tf 14 TL 72 720 Td " + shown + b" ET"
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    if to_unicode:
        pairs = b" ".join(b"<%02X> <%04X>" % item for item in sorted(to_unicode.items()))
        cmap = (
            b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap"
            b" /CMapName /Adobe-Identity-UCS def /CMapType 2 def"
            b" 1 begincodespacerange <00> <FF> endcodespacerange"
            b" %d beginbfchar %s endbfchar" % (len(to_unicode), pairs)
            + b" endcmap CMapName currentdict /CMap defineresource pop end end"
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# --- the real seeds -------------------------------------------------------------------


def test_seeds_load_as_their_decoded_bytes():
    documents, skipped = load_sources(SEEDS)
    assert skipped == []
    assert [d.source for d in documents] == sorted(p.name for p in SEEDS.glob("*.txt"))
    for document in documents:
        data = (SEEDS / document.source).read_bytes()
        assert document.text == data.decode("utf-8")
        assert document.sha256 == hashlib.sha256(data).hexdigest()
        assert document.size == len(data)
        assert document.mtime == os.stat(SEEDS / document.source).st_mtime
        assert document.kind == "text"
        assert document.page_starts == ()


# --- the folder itself ----------------------------------------------------------------


def test_missing_folder_is_an_error_that_says_what_to_do(tmp_path):
    with pytest.raises(SourcesError, match="does not exist: pass the folder that holds your documents") as info:
        load_sources(tmp_path / "nope")
    assert "\n" not in str(info.value)
    with pytest.raises(SourcesError):
        scan_sources(tmp_path / "nope")


def test_a_file_given_as_folder_is_an_error(tmp_path):
    path = write(tmp_path / "a.txt", PROSE)
    with pytest.raises(SourcesError, match="not a folder"):
        load_sources(path)


def test_empty_folder_loads_nothing_without_error(tmp_path):
    assert load_sources(tmp_path) == ([], [])
    assert scan_sources(tmp_path) == []


def test_walk_is_recursive_sorted_and_ignores_hidden_entries(tmp_path):
    for name in ["b.txt", "a/z.md", "a/b/c.txt", "a.txt", ".hidden.txt", ".git/x.txt", "a/.h/y.md"]:
        write(tmp_path / name, PROSE)
    documents, skipped = load_sources(tmp_path)
    assert [d.source for d in documents] == ["a.txt", "a/b/c.txt", "a/z.md", "b.txt"]
    assert skipped == []
    assert {d.source: d.kind for d in documents}["a/z.md"] == "markdown"
    assert [info.source for info in scan_sources(tmp_path)] == [d.source for d in documents]


def test_scan_reports_size_and_mtime_without_reading(tmp_path):
    path = write(tmp_path / "notes" / "a.txt", PROSE)
    os.utime(path, (1_000_000, 1_234_567.5))
    (info,) = scan_sources(tmp_path)
    assert info == FileInfo("notes/a.txt", tmp_path / "notes" / "a.txt", len(PROSE), 1_234_567.5)
    document = load_document(tmp_path, Path("notes/a.txt"))  # relative to the root works too
    assert (document.source, document.mtime) == ("notes/a.txt", 1_234_567.5)
    assert document.size == len(PROSE.encode())


# --- files that are skipped, each with its reason; the others still load ---------------


def test_bad_files_are_skipped_with_reasons_and_the_rest_loads(tmp_path):
    write(tmp_path / "good.txt", PROSE)
    write(tmp_path / "binary.txt", b"GIF89a\x00\x01\x02" + b"x" * 100)
    write(tmp_path / "latin1.txt", "caf\u00e9 au lait".encode("latin-1"))
    write(tmp_path / "empty.md", b"")
    write(tmp_path / "blank.txt", " \r\n\t\n")
    write(tmp_path / "sheet.docx", b"PK\x03\x04")
    write(tmp_path / "README", PROSE)
    documents, skipped = load_sources(tmp_path)
    assert [d.source for d in documents] == ["good.txt"]
    why = reasons(skipped)
    assert sorted(why) == sorted(
        ["binary.txt", "latin1.txt", "empty.md", "blank.txt", "sheet.docx", "README"]
    )
    assert why["binary.txt"] == "binary file (NUL byte at offset 6), not plain text"
    assert "not valid UTF-8" in why["latin1.txt"] and "0xe9 at offset 3" in why["latin1.txt"]
    assert why["empty.md"] == "empty file"
    assert why["blank.txt"] == "holds only whitespace"
    assert "unsupported file type '.docx'" in why["sheet.docx"]
    assert "without an extension" in why["README"] and ".txt" in why["README"]
    assert [s.source for s in skipped] == sorted(s.source for s in skipped)


def test_undecodable_offset_counts_the_byte_order_mark(tmp_path):
    write(tmp_path / "a.txt", b"\xef\xbb\xbfok \xff")
    _, skipped = load_sources(tmp_path)
    assert "0xff at offset 6" in skipped[0].reason


def test_file_over_the_size_limit_is_skipped_with_size_and_limit(tmp_path):
    write(tmp_path / "small.txt", PROSE)
    write(tmp_path / "big.txt", PROSE * 3)
    documents, skipped = load_sources(tmp_path, max_file_bytes=100)
    assert [d.source for d in documents] == ["small.txt"]
    size = len(PROSE.encode()) * 3
    assert reasons(skipped)["big.txt"] == f"too large: {size} bytes is over the 100 bytes limit (set QA_MAX_FILE_MB=1 to index it)"


def test_huge_sparse_file_is_skipped_without_being_read(tmp_path):
    with open(tmp_path / "huge.txt", "wb") as handle:
        handle.truncate(25 * 1024 * 1024)  # sparse: costs no disk and no read
    _, skipped = load_sources(tmp_path)
    assert skipped[0].reason.startswith("too large: 25.0 MB is over the 20.0 MB limit")


def test_symlink_loops_are_skipped_not_followed(tmp_path):
    write(tmp_path / "a" / "doc.txt", PROSE)
    os.symlink(tmp_path, tmp_path / "a" / "up")  # back to an ancestor
    os.symlink(".", tmp_path / "self")  # back to the folder itself
    os.symlink(tmp_path / "a", tmp_path / "alias")  # not a loop: followed
    documents, skipped = load_sources(tmp_path)
    assert [d.source for d in documents] == ["a/doc.txt", "alias/doc.txt"]
    why = reasons(skipped)
    assert sorted(why) == ["a/up", "alias/up", "self"]
    assert all(reason.startswith("symlink loop") for reason in why.values())


def test_symlink_loop_through_two_folders_outside_the_root(tmp_path):
    root, x, y = tmp_path / "root", tmp_path / "x", tmp_path / "y"
    for folder in (root, x, y):
        folder.mkdir()
    write(x / "doc.txt", PROSE)
    os.symlink(x, root / "x")
    os.symlink(y, x / "y")
    os.symlink(x, y / "x")  # x -> y -> x
    documents, skipped = load_sources(root)
    assert [d.source for d in documents] == ["x/doc.txt"]
    assert reasons(skipped) == {"x/y/x": reasons(skipped)["x/y/x"]}
    assert reasons(skipped)["x/y/x"].startswith("symlink loop")


def test_unreadable_entries_are_skipped(tmp_path, monkeypatch):
    write(tmp_path / "good.txt", PROSE)
    write(tmp_path / "locked.txt", PROSE)
    os.mkfifo(tmp_path / "pipe.txt")  # opening it would block: it must never be opened
    os.symlink(tmp_path / "gone.txt", tmp_path / "dangling.txt")
    os.symlink("me.txt", tmp_path / "me.txt")  # a link to itself
    real_open = open

    def guarded_open(path, *args, **kwargs):  # root reads everything, so deny one file here
        if Path(path).name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("qa.ingest.loading.open", guarded_open, raising=False)
    documents, skipped = load_sources(tmp_path)
    assert [d.source for d in documents] == ["good.txt"]
    why = reasons(skipped)
    assert why["locked.txt"] == "cannot be read: permission denied"
    assert why["pipe.txt"] == "not a regular file (a FIFO)"
    assert why["dangling.txt"].startswith("broken symlink")
    assert why["me.txt"].startswith("cannot be read")
    assert len(why) == 4


def test_load_document_raises_file_skipped(tmp_path):
    path = write(tmp_path / "empty.txt", b"")
    with pytest.raises(FileSkipped) as info:
        load_document(tmp_path, path)
    assert info.value.skipped.source == "empty.txt"
    assert info.value.skipped.reason == "empty file"


# --- what the text is, so offsets hold ------------------------------------------------


def test_crlf_is_kept_and_offsets_point_into_the_decoded_bytes(tmp_path):
    raw = "Title\r\n\r\nFirst line.\r\nSecond line \u2013 caf\u00e9.\r\n".encode()
    write(tmp_path / "crlf.txt", raw)
    (document,), _ = load_sources(tmp_path)
    assert document.text == raw.decode("utf-8")
    assert "\r\n" in document.text
    start = document.text.index("caf\u00e9")
    assert document.text[start : start + 4] == "caf\u00e9"


def test_byte_order_mark_is_not_part_of_the_text(tmp_path):
    raw = "\ufeffR\u00e9sum\u00e9 line one.\nline two.".encode()
    write(tmp_path / "bom.md", raw)
    (document,), _ = load_sources(tmp_path)
    assert document.text == raw[3:].decode("utf-8")
    assert document.text.startswith("R\u00e9sum\u00e9")
    assert document.sha256 == hashlib.sha256(raw).hexdigest()  # of the bytes, BOM included
    assert document.size == len(raw)


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_any_utf8_text_loads_verbatim(text, bom, crlf):
    if crlf:
        text = text.replace("\n", "\r\n")
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    with tempfile.TemporaryDirectory() as folder:
        write(Path(folder) / "t.txt", raw)
        documents, skipped = load_sources(Path(folder))
    if not text.strip():
        assert documents == [] and len(skipped) == 1
    else:
        assert skipped == [] and documents[0].text == text


# --- formats that need extraction -----------------------------------------------------

HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Moon water</title></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/about">About us</a></li>
<li><a href="/contact">Contact</a></li></ul></nav>
<article>
<h1>Water found on the sunlit Moon</h1>
<p>NASA's SOFIA observatory confirmed water molecules in Clavius crater, one of the largest
craters visible from Earth, in the Moon's southern hemisphere.</p>
<p>The water is about as abundant as in a twelve-ounce bottle spread over a cubic metre of
lunar soil, far less than in the Sahara desert.</p>
</article>
<footer><p>&copy; 2024 Example News. All rights reserved.</p></footer>
</body></html>
"""


def test_html_main_content_is_extracted_with_blank_lines_between_paragraphs(tmp_path):
    write(tmp_path / "moon.html", HTML)
    # A page whose text only JavaScript would render.
    app = '<html><body><div id="root"></div><script>go()</script></body></html>'
    write(tmp_path / "app.htm", app)
    documents, skipped = load_sources(tmp_path)
    (document,) = documents
    assert document.kind == "html" and document.source == "moon.html"
    assert document.sha256 == hashlib.sha256(HTML.encode()).hexdigest()
    assert "Clavius crater" in document.text and "twelve-ounce bottle" in document.text
    assert "Contact" not in document.text and "All rights reserved" not in document.text
    paragraphs = document.text.split("\n\n")
    assert any(p.startswith("NASA's SOFIA") for p in paragraphs)
    assert any(p.startswith("The water is about") for p in paragraphs)
    assert reasons(skipped) == {"app.htm": "no text found in the html"}


def test_pdf_text_with_page_starts(tmp_path):
    pages = [
        ["Page one opens the report.", "It has two lines."],
        [],  # a page without text (a figure, or a scan) still counts
        ["Page three closes it."],
    ]
    write(tmp_path / "report.pdf", minimal_pdf(pages))
    write(tmp_path / "broken.pdf", b"%PDF-1.4\nthis is not a pdf body\n")
    write(tmp_path / "scan.pdf", minimal_pdf([[], []]))
    documents, skipped = load_sources(tmp_path)
    (document,) = documents
    assert document.kind == "pdf"
    assert len(document.page_starts) == 3 and document.page_starts[0] == 0
    texts = document.text.split(PAGE_SEPARATOR)
    assert len(texts) == 3
    for number, (start, text) in enumerate(zip(document.page_starts, texts), start=1):
        assert document.text[start : start + len(text)] == text
        assert document.page_at(start) == number
    three = document.text.index("Page three closes it.")
    assert document.page_at(three) == 3
    assert document.page_at(document.text.index("two lines")) == 1
    why = reasons(skipped)
    assert why["broken.pdf"].startswith("not a readable PDF")
    assert why["scan.pdf"].startswith("no extractable text in the PDF")


def test_the_size_limit_says_how_to_raise_it_and_the_variable_raises_it(tmp_path, monkeypatch):
    from qa.config import IndexSettings

    write(tmp_path / "big.txt", "word " * (3 * 1024 * 1024 // 10))  # 1.5 MB of prose-like text
    monkeypatch.setenv("QA_MAX_FILE_MB", "1")
    with pytest.raises(FileSkipped) as skipped:
        load_document(tmp_path, Path("big.txt"), max_file_bytes=IndexSettings().max_file_bytes)
    assert skipped.value.reason == "too large: 1.5 MB is over the 1.0 MB limit (set QA_MAX_FILE_MB=2 to index it)"
    monkeypatch.setenv("QA_MAX_FILE_MB", "2")
    document = load_document(tmp_path, Path("big.txt"), max_file_bytes=IndexSettings().max_file_bytes)
    assert document.size == (tmp_path / "big.txt").stat().st_size
    monkeypatch.setenv("QA_MAX_FILE_MB", "lots")
    with pytest.raises(SourcesError, match="QA_MAX_FILE_MB='lots' is not a size"):
        IndexSettings()
    monkeypatch.delenv("QA_MAX_FILE_MB")
    assert IndexSettings().max_file_bytes == 20 * 1024 * 1024
