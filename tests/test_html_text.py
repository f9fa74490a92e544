"""HTML reads as a browser shows it: soft line wraps are spaces, and a Sphinx page (a real
one from the Python docs, tests/data/sphinx/) gives whole sentences without "¶" marks, its
listing pages and its `_sources/` copies stay out."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import lxml.html
import pytest

from qa.ingest.chunking import split_sentences
from qa.ingest.cleaning import content_spans
from qa.ingest.loading import FileSkipped, load_document
from qa.ingest.source_lines import line_in_file

SPHINX = Path(__file__).parent / "data" / "sphinx"
PAGE = "tutorial/interpreter.html"


def squeezed(text: str) -> str:
    return " ".join(text.split())


def main_paragraphs(raw: bytes) -> list[str]:
    """The text of every <p> of the page's main block, white space folded."""
    main = lxml.html.fromstring(raw).xpath('//div[@role="main"]')[0]
    return [squeezed(p.text_content()) for p in main.iter("p")]


def test_every_paragraph_of_a_sphinx_page_stays_whole():
    document = load_document(SPHINX, Path(PAGE))
    paragraphs = main_paragraphs((SPHINX / PAGE).read_bytes())
    assert len(paragraphs) > 15
    blocks = [squeezed(document.text[s.start : s.end]) for s in content_spans(document.text)]
    whole = [p for p in paragraphs if any(p in block for block in blocks)]
    assert whole == paragraphs  # each <p> inside one block, none cut at a soft wrap


def test_sentences_of_a_sphinx_page_run_across_its_line_wraps():
    document = load_document(SPHINX, Path(PAGE))
    sentences = [s.text for s in split_sentences(document.text, PAGE, content_spans(document.text))]
    # In the file this sentence is wrapped over three lines.
    assert (
        "The Python interpreter is usually installed as /usr/local/bin/python3.11 on those"
        " machines where it is available; putting /usr/local/bin in your Unix shell’s search"
        " path makes it possible to start it by typing the command:"
    ) in sentences
    assert "By default, Python source files are treated as encoded in UTF-8." in sentences
    # A sentence ending in the middle of a clause is what the wraps used to produce.
    assert not [s for s in sentences if re.search(r"\b(the|a|to|of|and|your|in)$", s)]


def test_headings_stay_and_permalink_marks_do_not():
    document = load_document(SPHINX, Path(PAGE))
    assert "¶" in (SPHINX / PAGE).read_text(encoding="utf-8")
    assert "¶" not in document.text
    assert "2.1. Invoking the Interpreter\n\n" in document.text
    assert "Navigation" not in document.text and "Previous topic" not in document.text


def test_citations_still_name_the_line_of_the_file_after_joining_wraps():
    document = load_document(SPHINX, Path(PAGE))
    raw = (SPHINX / PAGE).read_text(encoding="utf-8").splitlines()
    for phrase in ("to the first Python prompt you get", "popular alternative location", "code completion on systems"):
        line = line_in_file(document.line_map, document.text.index(phrase))
        assert phrase in raw[line - 1]


@pytest.mark.parametrize("page", ["genindex.html", "search.html"])
def test_pages_sphinx_generates_to_list_other_pages_are_skipped(page):
    with pytest.raises(FileSkipped) as skipped:
        load_document(SPHINX, Path(page))
    assert "Sphinx generates to list other pages" in skipped.value.reason


def test_a_sources_copy_beside_its_page_is_skipped_for_the_page(tmp_path):
    copy = "_sources/tutorial/interpreter.rst.txt"
    with pytest.raises(FileSkipped) as skipped:
        load_document(SPHINX, Path(copy))
    assert skipped.value.reason == "reST source of an HTML page beside it, which is indexed instead"
    assert (SPHINX / PAGE).is_file()
    # Without its page, the source is the only copy of that text: it is indexed.
    alone = tmp_path / "docs"
    (alone / "_sources" / "tutorial").mkdir(parents=True)
    shutil.copy(SPHINX / copy, alone / copy)
    assert "Invoking the Interpreter" in load_document(alone, Path(copy)).text


def test_soft_wraps_are_spaces_and_preformatted_lines_stay_lines(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><body><article><h1>Tides</h1>\n"
        "<p>The harbour empties twice a day, when the tide goes\nout past the old pier and"
        "\n   the boats rest on the sand until evening.</p>\n"
        "<pre>first line\nsecond line</pre>\n"
        "<p>A second paragraph, with its own sentence about the\nfishermen of the bay.</p>"
        "</article></body></html>\n",
        encoding="utf-8",
    )
    text = load_document(tmp_path, Path("page.html")).text
    assert (
        "The harbour empties twice a day, when the tide goes out past the old pier and the"
        " boats rest on the sand until evening."
    ) in text
    assert "A second paragraph, with its own sentence about the fishermen of the bay." in text
    assert "first line\n\nsecond line" in text  # one paragraph per line of code, as before
