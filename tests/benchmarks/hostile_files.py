"""Per-file work on hostile files at full size: each must be indexed or skipped in < 60 s.

Three files, each alone in a folder, each through the whole of `build_index` (load,
clean, chunk, embed, write) with the real model:

- a 20 MB text file with no white space (the old cutter was quadratic: days; now skipped,
  as any run over 100,000 characters, and runs below that are chunked in linear time);
- a 1.5 MB HTML page whose one tag holds 100,000 attributes (libxml2: minutes);
- a PDF that lists one page object 10,000 times (pypdf page by page: a minute and more).

Prints each file's size, seconds, and what happened (indexed with N chunks, or skipped
with the reason). Exits 1 if any took 60 s or more. Not a test: run it on a quiet machine.

    python tests/benchmarks/hostile_files.py [--limit 60]
"""

from __future__ import annotations

import argparse
import os
import random
import string
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.test_loading import minimal_pdf  # noqa: E402


def hostile_files() -> dict[str, bytes]:
    rng = random.Random(0)
    no_space = "".join(rng.choices(string.ascii_letters, k=20 * 1024 * 1024 - 1)).encode()
    attributes = " ".join(f'a{i}="v{i}"' for i in range(100_000))
    tag = f"<html><body><p {attributes}>The station was launched in 1998.</p></body></html>".encode()
    pdf = minimal_pdf([["The same page, listed again and again."]], repeat=10_000)
    return {"no-white-space.txt": no_space, "many-attributes.html": tag, "one-page-10000-times.pdf": pdf}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=60.0, help="seconds allowed per file")
    args = parser.parse_args()

    from qa.errors import SourcesError
    from qa.index.embedding import default_embedder
    from qa.index.indexing import build_index

    embedder = default_embedder()
    embedder.warm_up()
    slow = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in hostile_files().items():
            sources = Path(tmp) / name.rsplit(".", 1)[0]
            sources.mkdir()
            (sources / name).write_bytes(data)
            started, cpu = time.perf_counter(), time.process_time()
            try:
                report = build_index(sources, Path(tmp) / f"index-{name}", embedder=embedder)
                outcome = f"indexed: {report.chunks:,} chunks"
                if report.skipped:
                    outcome = f"skipped: {report.skipped[0].reason}"
            except SourcesError as exc:  # the folder's only file was skipped
                outcome = f"skipped: {exc}"
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            if seconds >= args.limit:
                slow.append(name)
            # CPU seconds (all threads) tell what a busy machine's wall clock hides.
            print(f"{name:28} {len(data) / 1e6:6.2f} MB {seconds:7.1f} s ({cpu:.1f} CPU s)  {outcome}", flush=True)
    if slow:
        print(f"over {args.limit:.0f} s: {', '.join(slow)}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
