"""Whatever the file, every sentence and chunk stored in a saved index is exact text of it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from qa.index.indexing import build_index, load_index
from tests.fakes import FakeEmbedder

WINDOW = 254

piece = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=15),
    st.sampled_from(["The", "ISS", "was", "launched", "in", "1998", "Dr.", "U.S.", "café", "naïve", "日本語", "😀", "[bold]", "x" * 300]),
)
gap = st.sampled_from([" ", "  ", "\t", "\u00a0", "\n", "\r\n", "\n\n", "\r\n\r\n", ". ", ".\n\n", "? ", "! ", " \n \n"])
# Every file opens with one ordinary sentence, so each build has something to index and
# the property is checked on every example; what follows is arbitrary.
PROSE = "The station was launched in 1998 by two space agencies.\n\n"
files = st.lists(st.tuples(piece, gap), min_size=1, max_size=250).map(
    lambda parts: PROSE + "".join(p + g for p, g in parts)
)
bom = st.booleans()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(files, bom), min_size=1, max_size=3))
def test_stored_spans_are_exact_and_fit_the_window(documents):
    embedder = FakeEmbedder()
    with tempfile.TemporaryDirectory() as tmp:
        sources = Path(tmp) / "src"
        sources.mkdir()
        originals = {}
        for n, (text, with_bom) in enumerate(documents):
            name = f"doc{n}.txt"
            data = text.encode("utf-8")
            (sources / name).write_bytes((b"\xef\xbb\xbf" if with_bom else b"") + data)
            originals[name] = text
        build_index(sources, Path(tmp) / "idx", embedder=embedder)
        index = load_index(Path(tmp) / "idx", embedder=embedder)
        assert set(index.documents) == set(originals)
        for name, document in index.documents.items():
            assert document.text == originals[name]  # the original file text, BOM aside
        for chunk in index.chunks:
            assert originals[chunk.source][chunk.start : chunk.end] == chunk.text
            assert embedder.count_word_pieces(chunk.text) <= WINDOW
        for sentence in index.sentence_list:
            assert originals[sentence.source][sentence.start : sentence.end] == sentence.text
