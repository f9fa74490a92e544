"""Sentences and chunks keep exact offsets and always fit the model's window."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from qa.config import IndexSettings
from qa.index.embedding import SentenceTransformerEmbedder
from qa.ingest.chunking import Chunker, count_tokens, split_sentences
from qa.ingest.sentences import sentence_spans
from qa.types import Span
from tests.conftest import SEEDS, SUPERBOWL_SOURCES

_counter = SentenceTransformerEmbedder()  # counting word pieces needs no model weights
WINDOW = _counter.max_word_pieces


def blocks_of(text: str) -> list[Span]:
    """Paragraphs: runs of non-blank lines (what cleaning keeps on clean text)."""
    return [Span(m.start(), m.end()) for m in re.finditer(r"\S(?:.*?\S)?(?=\s*(?:\n\s*\n|\Z))", text, re.S)]


def chunker(**overrides) -> Chunker:
    return Chunker(IndexSettings(**overrides), _counter.count_word_pieces, WINDOW)


words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
)
separators = st.sampled_from([" ", "  ", "\t", "\u00a0", "\n", "\r\n", "\n\n", "\r\n\r\n", ". ", "! ", "? ", ".\n"])
documents = st.lists(st.tuples(words, separators), max_size=300).map(
    lambda parts: "".join(w + s for w, s in parts)
)
long_sentence = st.integers(300, 1500).map(lambda n: " ".join(f"word{i % 97}" for i in range(n)) + ".")


def check_spans(text, sentences, chunks):
    for s in sentences:
        assert text[s.start : s.end] == s.text and s.text.strip() == s.text and s.text
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert _counter.count_word_pieces(c.text) <= WINDOW
        assert c.n_word_pieces == _counter.count_word_pieces(c.text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_generated_documents_keep_exact_offsets_and_fit_the_window(text):
    sentences, chunks = chunker().chunk(text, "doc.txt", blocks_of(text))
    check_spans(text, sentences, chunks)
    # Every non-space character of a kept block lies in some sentence and some chunk.
    covered_s = set()
    for s in sentences:
        covered_s.update(range(s.start, s.end))
    covered_c = set()
    for c in chunks:
        covered_c.update(range(c.start, c.end))
    for b in blocks_of(text):
        for i in range(b.start, b.end):
            if not text[i].isspace():
                assert i in covered_s and i in covered_c


@settings(max_examples=20, deadline=None)
@given(st.lists(long_sentence, min_size=1, max_size=3), separators)
def test_very_long_sentences_are_split_never_truncated(sentences, sep):
    text = sep.join(sentences)
    found, chunks = chunker().chunk(text, "doc.txt", blocks_of(text))
    check_spans(text, found, chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") != ""
    joined = set()
    for c in chunks:
        joined.update(range(c.start, c.end))
    assert all(i in joined for i, ch in enumerate(text) if not ch.isspace())


def test_a_run_without_spaces_longer_than_the_window_is_cut():
    text = "x" * 5000
    _, chunks = chunker().chunk(text, "doc.txt", [Span(0, len(text))])
    check_spans(text, [], chunks)
    assert len(chunks) > 1 and chunks[0].start == 0 and chunks[-1].end == len(text)


def test_a_chunk_never_spans_a_dropped_block():
    text = "First paragraph is here.\n\nMENU MENU MENU\n\nSecond one is here."
    kept = [Span(0, 24), Span(text.index("Second"), len(text))]
    _, chunks = chunker().chunk(text, "doc.txt", kept)
    assert all("MENU" not in c.text for c in chunks)


def test_long_paragraphs_become_overlapping_windows_of_whole_sentences():
    sentence = "The quick brown fox jumps over the lazy dog near the river bank today."
    text = " ".join([sentence] * 40)
    sentences, chunks = chunker(chunk_tokens=60).chunk(text, "doc.txt", [Span(0, len(text))])
    assert len(chunks) > 2
    starts = {s.start for s in sentences}
    ends = {s.end for s in sentences}
    for c in chunks:
        assert c.start in starts and c.end in ends and c.n_tokens <= 60
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end  # one sentence of overlap


@pytest.mark.parametrize("path", [*sorted(SEEDS.glob("*.txt")), SUPERBOWL_SOURCES / "Super_Bowl_50.txt"])
def test_real_files(path):
    text = path.read_text(encoding="utf-8")
    sentences, chunks = chunker().chunk(text, path.name, blocks_of(text))
    check_spans(text, sentences, chunks)
    assert max(c.n_tokens for c in chunks) <= IndexSettings().chunk_tokens


def test_sentence_boundaries():
    text = 'Dr. Smith went to Washington, D.C. in 2015. He met the U.S. president! "Was it fun?" Yes.\nHeading\nBody text follows here.'
    found = [text[a:b] for a, b in sentence_spans(text)]
    assert found == [
        "Dr. Smith went to Washington, D.C. in 2015.",
        "He met the U.S. president!",
        '"Was it fun?"',
        "Yes.",
        "Heading",
        "Body text follows here.",
    ]


def test_decimals_and_initials_do_not_end_sentences():
    text = "The price rose 2.5 percent. J. R. R. Tolkien wrote it."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "The price rose 2.5 percent.",
        "J. R. R. Tolkien wrote it.",
    ]


def test_tiktoken_is_the_offline_encoding():
    assert count_tokens("hello world") == 2


def test_split_sentences_carry_their_source():
    text = "One. Two."
    assert {s.source for s in split_sentences(text, "a/b.txt", [Span(0, len(text))])} == {"a/b.txt"}
