"""Hostile files: one file's failure skips that file with its reason, never the folder,
and the work per file grows linearly with its size (tests/benchmarks/hostile_files.py
runs the full sizes: 20 MB, 1.5 MB, 10,000 pages)."""

from __future__ import annotations

import dataclasses
import random
import string
import time
from pathlib import Path

import pytest

from qa.config import IndexSettings
from qa.index import indexing
from qa.index.embedding import SentenceTransformerEmbedder
from qa.index.indexing import build_index
from qa.ingest.chunking import Chunker, count_tokens
from qa.ingest.cleaning import content_spans
from qa.ingest.loading import MAX_ATTRIBUTE_PAIRS, MAX_UNBROKEN_CHARS, FileSkipped, load_document
from qa.ingest.sentences import MAX_RUN_CHARS, MAX_SENTENCE_CHARS, sentence_spans
from tests.test_loading import minimal_pdf

_counter = SentenceTransformerEmbedder()  # counting word pieces needs no model weights
LETTERS = {ord(c): ord(c) for c in string.ascii_lowercase + " "}


def lone_surrogate_pdf() -> bytes:
    """A PDF whose font maps the glyph 'Q' to U+D800, as the fuzzed 918-byte file did."""
    return minimal_pdf([["the Q station was launched in nineteen ninety eight"]], to_unicode={**LETTERS, ord("Q"): 0xD800})


def no_white_space(size: int) -> str:
    rng = random.Random(size)
    return "".join(rng.choices(string.ascii_letters, k=size))


def tag_with_attributes(count: int) -> str:
    attributes = " ".join(f'a{i}="v{i}"' for i in range(count))
    return f"<html><body><article><p {attributes}>The station was launched in 1998.</p></article></body></html>"


# ---------------------------------------------------------------- one file fails, not all


def test_a_lone_surrogate_from_a_pdf_font_becomes_one_replacement_character(tmp_path):
    (tmp_path / "odd.pdf").write_bytes(lone_surrogate_pdf())
    document = load_document(tmp_path, Path("odd.pdf"))
    assert "the \ufffd station was launched" in document.text
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in document.text)
    _counter.count_word_pieces(document.text)  # the tokenizer accepts it now


@pytest.mark.slow
def test_the_lone_surrogate_pdf_is_indexed_beside_the_other_files(tmp_path, real_embedder):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "odd.pdf").write_bytes(lone_surrogate_pdf())
    (sources / "plain.txt").write_text("The station was launched in 1998 by Russia and the United States.\n")
    report = build_index(sources, tmp_path / "index", embedder=real_embedder)
    assert report.files == 2 and report.skipped == ()
    index = indexing.load_index(tmp_path / "index", embedder=real_embedder)
    assert "the \ufffd station was launched" in index.document("odd.pdf").text


@pytest.mark.slow
def test_a_file_that_fails_while_chunking_or_loading_is_skipped_with_its_reason(tmp_path, real_embedder, monkeypatch):
    """The real tokenizer raises on a lone surrogate (`TextInputSequence must be str`); a
    loader that let one through must cost that file only. Same for a loader's surprise."""
    sources = tmp_path / "sources"
    sources.mkdir()
    for name in ("bad.txt", "broken.txt", "good.txt"):
        (sources / name).write_text(f"The station in {name} was launched in 1998.\n")
    real_load = indexing.load_document

    def load(root, path, **options):
        document = real_load(root, path, **options)
        if path.name == "broken.txt":
            raise RecursionError("maximum recursion depth exceeded")
        if path.name == "bad.txt":
            document = dataclasses.replace(document, text=document.text.replace("station", "\ud800tation"))
        return document

    monkeypatch.setattr(indexing, "load_document", load)
    report = build_index(sources, tmp_path / "index", embedder=real_embedder)
    assert report.files == 1 and report.added == ("good.txt",)
    reasons = {s.source: s.reason for s in report.skipped}
    assert reasons == {
        "bad.txt": "could not be split into chunks (TypeError: TextInputSequence must be str)",
        "broken.txt": "could not be loaded (RecursionError: maximum recursion depth exceeded)",
    }


# ---------------------------------------------------------------- bounded, linear work


class CountingCounter:
    """The real counters, recording how many characters they were given in all."""

    def __init__(self, count):
        self.count, self.characters = count, 0

    def __call__(self, text: str) -> int:
        self.characters += len(text)
        return self.count(text)


def characters_counted(text: str) -> int:
    """Characters the chunker hands to the token counters for `text`, in all."""
    tokens, pieces = CountingCounter(count_tokens), CountingCounter(_counter.count_word_pieces)
    chunker = Chunker(IndexSettings(), pieces, _counter.max_word_pieces, count_tokens=tokens)
    sentences, chunks = chunker.chunk(text, "doc.txt", content_spans(text))
    for piece in (*sentences, *chunks):
        assert text[piece.start : piece.end] == piece.text
    assert all(len(s.text) <= MAX_SENTENCE_CHARS for s in sentences)
    return tokens.characters + pieces.characters


@pytest.mark.parametrize(
    "make",
    [no_white_space, lambda n: "Ab. " * (n // 4), lambda n: ("word " * (n // 5)).strip()],
    ids=["no white space", "tiny sentences", "no punctuation"],
)
def test_the_chunker_counts_each_character_a_bounded_number_of_times(make):
    small, large = characters_counted(make(20_000)), characters_counted(make(80_000))
    # Linear: 4x the text, ~4x the counting (the old cutter re-counted the rest of the
    # line for every piece: ~16x for 4x, and growing with the size).
    assert large <= 4.5 * small
    assert large <= 30 * 80_000  # each character counted a few times per probe of its piece


def test_sentences_have_a_maximum_length_and_keep_exact_offsets():
    text = "Intro.\n\n" + " ".join(f"word{i}" for i in range(40_000)) + "\n\n" + no_white_space(5_000)
    spans = sentence_spans(text)
    lengths = [b - a for a, b in spans]
    assert max(lengths) <= MAX_SENTENCE_CHARS and len(spans) > 40_000 * 6 // MAX_SENTENCE_CHARS
    assert lengths[-2] == MAX_RUN_CHARS  # the run without white space is cut shorter
    for a, b in spans:
        piece = text[a:b]
        assert piece and piece == piece.strip()
    covered = sum(len(text[a:b].replace(" ", "")) for a, b in spans)
    assert covered == len(text.replace(" ", "").replace("\n", ""))  # nothing lost or doubled


def test_a_run_without_white_space_over_the_limit_is_skipped_with_its_reason(tmp_path):
    (tmp_path / "blob.txt").write_text("Intro line.\n" + no_white_space(MAX_UNBROKEN_CHARS + 1))
    (tmp_path / "long.txt").write_text("Intro line.\n" + no_white_space(MAX_UNBROKEN_CHARS))
    with pytest.raises(FileSkipped, match="a run of over 100,000 characters without white space"):
        load_document(tmp_path, Path("blob.txt"))
    assert load_document(tmp_path, Path("long.txt")).text.startswith("Intro line.")


def cpu_seconds(action) -> float:
    started = time.process_time()  # this process's CPU time: what other jobs do not change
    action()
    return time.process_time() - started


def test_a_pdf_listing_one_page_many_times_is_read_in_time_independent_of_the_count(tmp_path):
    for pages in (500, 4_000):
        (tmp_path / f"{pages}.pdf").write_bytes(minimal_pdf([["The same page again."]], repeat=pages))
    load_document(tmp_path, Path("500.pdf"))  # imports pypdf
    few = cpu_seconds(lambda: load_document(tmp_path, Path("500.pdf")))
    many = cpu_seconds(lambda: load_document(tmp_path, Path("4000.pdf")))
    document = load_document(tmp_path, Path("4000.pdf"))
    assert len(document.page_starts) == 4_000
    assert document.text.count("The same page again.") == 4_000
    assert many < 8 * few + 0.5  # page by page it was ~8x and growing; now it is the parse


def test_an_html_tag_with_a_hundred_thousand_attributes_is_skipped_at_once(tmp_path):
    (tmp_path / "huge.html").write_text(tag_with_attributes(100_000))
    (tmp_path / "fine.html").write_text(tag_with_attributes(1_000))
    started = time.process_time()
    with pytest.raises(FileSkipped, match="too many attributes") as skipped:
        load_document(tmp_path, Path("huge.html"))
    assert time.process_time() - started < 5  # parsing it took minutes
    assert f"{MAX_ATTRIBUTE_PAIRS:,} limit" in skipped.value.reason
    assert "launched in 1998" in load_document(tmp_path, Path("fine.html")).text
