"""Ingestion throughput: load + clean + chunk of a folder, before any embedding, in files/s.

Run: `python tests/benchmarks/ingest_throughput.py [FOLDER] [--workers 2 1] [--rounds 2]`.
FOLDER defaults to the Python docs HTML (`apt-get install python3.11-doc`). Runs exactly
what `qa index` runs before embedding (`qa.ingest.ingest_pool.prepare_files` over every file the
scan finds, with the bundled model's word-piece counter) once per worker count per round,
the worker counts interleaved so that a change in the machine's load hits each alike, and
prints files/s over all files scanned and over the pages that gave chunks, the chunks, and
the CPU seconds spent (this process and its workers). With two worker counts it prints
their speed ratio per round. Prints numbers; not a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # finished workers
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_once(folder: Path, workers: int) -> dict:
    from qa.config import IndexSettings
    from qa.index.embedding import SentenceTransformerEmbedder
    from qa.ingest.ingest_pool import prepare_files, word_piece_counter
    from qa.ingest.loading import load_document, scan_sources

    embedder = SentenceTransformerEmbedder()
    started, cpu = time.perf_counter(), _cpu_seconds()
    sources = [info.source for info in scan_sources(folder)]
    pages = chunks = 0
    for file in prepare_files(
        folder, sources, settings=IndexSettings(), count_word_pieces=word_piece_counter(embedder),
        max_word_pieces=embedder.max_word_pieces, load=load_document, workers=workers,
    ):
        if file.skipped is None:
            pages += 1
            chunks += len(file.chunks)
    seconds = time.perf_counter() - started
    return {
        "workers": workers, "files": len(sources), "pages": pages, "chunks": chunks,
        "seconds": seconds, "cpu": _cpu_seconds() - cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=PYTHON_DOCS)
    parser.add_argument("--workers", type=int, nargs="+", default=[os.cpu_count() or 1])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    # The model's files are hashed once, before any timing.
    from qa.index.embedding import _model_path

    _model_path()
    print(f"folder: {args.folder}  cores: {os.cpu_count()}  load average: {os.getloadavg()[0]:.1f}")
    for r in range(1, args.rounds + 1):
        results = []
        for w in args.workers:
            x = run_once(args.folder, w)
            results.append(x)
            print(
                f"round {r}  workers {x['workers']}:  {x['files']} files ({x['pages']} gave chunks),"
                f" {x['chunks']:,} chunks in {x['seconds']:.1f} s = {x['files'] / x['seconds']:.1f} files/s"
                f" ({x['pages'] / x['seconds']:.1f} pages/s), CPU {x['cpu']:.1f} s",
                flush=True,
            )
        if len(results) == 2:
            a, b = results
            print(f"round {r}  speed ratio workers {a['workers']} / workers {b['workers']}:"
                  f" {b['seconds'] / a['seconds']:.2f}x", flush=True)

if __name__ == "__main__":
    main()
