"""Files are loaded, cleaned and chunked in worker processes with the same results, in the
same order, as in one process, and one bad file still costs only that file."""

from __future__ import annotations

from pathlib import Path

from qa.config import IndexSettings
from qa.index.embedding import SentenceTransformerEmbedder
from qa.ingest.ingest_pool import MIN_FILES_PER_WORKER, WordPieceCounter, prepare_files, word_piece_counter
from qa.ingest.loading import load_document

SPHINX_PAGE = Path(__file__).parent / "data" / "sphinx" / "tutorial" / "interpreter.html"
SUPER_BOWL = Path(__file__).parent / "data" / "bench" / "superbowl" / "sources" / "Super_Bowl_50.txt"


def folder(tmp_path: Path, files: int) -> tuple[Path, list[str]]:
    """`files` real documents (HTML and text, some repeated), a binary and an empty file."""
    root = tmp_path / "sources"
    root.mkdir()
    paragraphs = SUPER_BOWL.read_text(encoding="utf-8").split("\n\n")
    for n in range(files):
        if n % 3 == 0:
            (root / f"{n:03}.html").write_bytes(SPHINX_PAGE.read_bytes())
        else:
            (root / f"{n:03}.txt").write_text("\n\n".join(paragraphs[n : n + 4]), encoding="utf-8")
    (root / "050.txt").write_bytes(b"\x00\x01 binary")
    (root / "051.txt").write_bytes(b"")
    return root, sorted(p.name for p in root.iterdir())


def prepared(root: Path, sources: list[str], workers: int, counter) -> list:
    return list(
        prepare_files(
            root, sources, settings=IndexSettings(), count_word_pieces=counter,
            max_word_pieces=254, load=load_document, workers=workers,
        )
    )


def test_two_workers_give_what_one_process_gives_in_the_same_order(tmp_path):
    root, sources = folder(tmp_path, 2 * MIN_FILES_PER_WORKER)
    counter = word_piece_counter(SentenceTransformerEmbedder())
    assert isinstance(counter, WordPieceCounter)  # picklable: workers are used
    alone, pooled = prepared(root, sources, 1, counter), prepared(root, sources, 2, counter)
    assert [p.source for p in pooled] == sources
    assert pooled == alone
    reasons = {p.source: p.skipped.reason for p in pooled if p.skipped}
    assert set(reasons) == {"050.txt", "051.txt"}
    assert reasons["051.txt"] == "empty file"
    assert sum(len(p.chunks) for p in pooled) > 2 * MIN_FILES_PER_WORKER


def test_a_counter_that_cannot_go_to_a_worker_is_used_here(tmp_path):
    root, sources = folder(tmp_path, 2 * MIN_FILES_PER_WORKER)
    calls = []

    def counting(text: str) -> int:  # a local function: not picklable
        calls.append(text)
        return len(text.split())

    results = prepared(root, sources, 2, counting)
    assert calls and len(results) == len(sources)


class _WordCounter:
    def __call__(self, text: str) -> int:
        return len(text.split())


def test_a_counter_from_a_main_script_is_used_here(tmp_path, monkeypatch):
    # A class defined in `python -c "..."` pickles by reference to __main__, where a
    # spawned worker cannot find it: the build must not hand it to workers (it did, and
    # the benchmark's whole pool died).
    import __main__

    monkeypatch.setattr(_WordCounter, "__module__", "__main__")
    monkeypatch.setattr(__main__, "_WordCounter", _WordCounter, raising=False)
    root, sources = folder(tmp_path, 2 * MIN_FILES_PER_WORKER)
    results = prepared(root, sources, 2, _WordCounter())
    assert results == prepared(root, sources, 1, _WordCounter())
    assert sum(len(r.chunks) for r in results) > 2 * MIN_FILES_PER_WORKER


def test_the_portable_counter_counts_like_the_model():
    embedder = SentenceTransformerEmbedder()
    counter = word_piece_counter(embedder)
    for text in ("Return an enumerate object.", "unununium façade 3.11.2 — naïve", ""):
        assert counter(text) == embedder.count_word_pieces(text)
