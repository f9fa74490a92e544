"""A build's memory grows with the corpus only by compact arrays, never by Python objects
per document, chunk, sentence or term (qa/index/document_records.py says why; a 109k-chunk
build of the Python docs held ~650 MB of them). tests/benchmarks/build_memory.py measures
the peak."""

from __future__ import annotations

import gc
import tracemalloc

from qa.index.indexing import build_index, load_index
from qa.index.lexical import LexicalIndex, terms
from qa.types import Chunk, Document, Sentence
from tests.conftest import SUPERBOWL_SOURCES

PREFIX = "memory-guard-"


def _live(kind: type, prefix: str) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is kind and o.source.startswith(prefix))


def test_a_build_holds_at_most_one_document_and_its_pieces_while_embedding_and_writing(tmp_path, real_embedder):
    # Super Bowl 50's article cut into 6 files of whole paragraphs
    paragraphs = "".join(p.read_text(encoding="utf-8") for p in sorted(SUPERBOWL_SOURCES.iterdir())).split("\n\n")
    sources = tmp_path / "sources"
    sources.mkdir()
    step = -(-len(paragraphs) // 6)
    for n in range(6):  # names no other test's objects carry
        (sources / f"{PREFIX}{n}.txt").write_text("\n\n".join(paragraphs[n * step : (n + 1) * step]), encoding="utf-8")
    seen: dict[str, dict[str, int]] = {}

    def progress(event) -> None:  # once per phase, from the first embedding on
        key = f"{event.stage} {event.detail}".strip()
        if event.stage in ("embed", "save", "index") and key not in seen:
            seen[key] = {kind.__name__: _live(kind, PREFIX) for kind in (Document, Chunk, Sentence)}

    report = build_index(sources, tmp_path / "idx", embedder=real_embedder, progress=progress)

    index = load_index(tmp_path / "idx", embedder=real_embedder)
    most_chunks = max(len(index.rows_by_source()[s]) for s in index.documents)
    most_sentences = max(len(index.sentences(s)) for s in index.documents)
    assert report.files == 6 and report.chunks >= 6 * most_chunks / 2
    # From embedding to the manifest, the files' documents, chunks and sentences are not
    # held as objects: each pass reads one document at a time and lets it go (the old
    # build held all of them until the generation was written).
    assert {"embed", "save", "index vector search", "index BM25", "index hashing"} <= set(seen)
    for phase, live in seen.items():
        assert live["Document"] <= 1 and live["Chunk"] <= most_chunks and live["Sentence"] <= most_sentences, (phase, live)


def test_bm25_is_built_from_term_ids_not_lists_of_strings():
    # 4,000 chunk-sized texts of a real article. bm25s's own path, lists of stemmed
    # strings turned into lists of Python ints, costs ~36 bytes a term more than the
    # arrays of ids qa gives it: ~100 MB at 100k chunks.
    import bm25s

    words = " ".join(p.read_text(encoding="utf-8") for p in sorted(SUPERBOWL_SOURCES.iterdir())).split()
    texts = [" ".join(words[(i * 37) % len(words) :][:60]) for i in range(4000)]
    LexicalIndex.build(texts[:10])  # imports done before measuring
    from_strings = tracemalloc_peak(lambda: bm25s.BM25().index([terms(t) or ["\u2205"] for t in texts], show_progress=False))

    peak = tracemalloc_peak(lambda: LexicalIndex.build(texts))

    assert peak < 0.85 * from_strings, (peak, from_strings)


def tracemalloc_peak(work) -> int:
    """Peak bytes Python allocated while `work()` ran (its result held at the end)."""
    gc.collect()
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
