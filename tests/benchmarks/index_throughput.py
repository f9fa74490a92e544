"""Index throughput of `qa index` against plain `SentenceTransformer.encode` (fp32).

The shared bench sources (Super Bowl 50 and the seeds) are replicated into a temporary
folder until they make at least --min-chunks chunks. Both sides embed exactly the same
chunk texts in one run: `qa` through `build_index` (load, clean, chunk, embed with pooled
sentence vectors, write the index), the baseline through `encode` alone. Prints both rates
and their ratio. Not a test: run it on a quiet machine.

    python tests/benchmarks/index_throughput.py [--min-chunks 5000]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "data" / "bench"  # copies of the shared bench sets
SOURCES = [BENCH / "superbowl" / "sources" / "Super_Bowl_50.txt", *sorted((ROOT / "seeds").glob("*.txt"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-chunks", type=int, default=5000)
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    from qa.index.embedding import SentenceTransformerEmbedder, _model_path
    from qa.index.indexing import build_index, load_index

    embedder = SentenceTransformerEmbedder()
    embedder.warm_up()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        probe = tmp / "probe"
        probe.mkdir()
        for path in SOURCES:
            shutil.copy(path, probe / path.name)
        build_index(probe, tmp / "probe-idx", embedder=embedder)
        per_copy = len(load_index(tmp / "probe-idx", embedder=embedder).chunks)
        copies = -(-args.min_chunks // per_copy)

        corpus = tmp / "corpus"
        corpus.mkdir()
        for n in range(copies):
            for path in SOURCES:
                shutil.copy(path, corpus / f"{n:03d}-{path.name}")

        started = time.perf_counter()
        report = build_index(corpus, tmp / "idx", embedder=embedder)
        qa_seconds = time.perf_counter() - started
        texts = [c.text for c in load_index(tmp / "idx", embedder=embedder).chunks]

        baseline = SentenceTransformer(_model_path(), device="cpu")
        baseline.encode(texts[:32])  # warm, as qa's model is
        started = time.perf_counter()
        baseline.encode(texts, batch_size=32, normalize_embeddings=True)
        plain_seconds = time.perf_counter() - started

    pieces = report.word_pieces
    print(f"machine: {platform.machine()}, {_cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, bf16={'on' if embedder.bf16 else 'off (no native bfloat16)'}")
    print(f"corpus: {copies} copies of {len(SOURCES)} files = {report.files} files, {len(texts)} chunks, {pieces:,} word pieces")
    print(f"qa index (full build)      : {qa_seconds:7.1f} s  {len(texts) / qa_seconds:7.1f} chunks/s  {pieces / qa_seconds:8,.0f} word pieces/s")
    print(f"plain encode fp32 (bs 32)  : {plain_seconds:7.1f} s  {len(texts) / plain_seconds:7.1f} chunks/s  {pieces / plain_seconds:8,.0f} word pieces/s")
    print(f"ratio qa / plain           : {plain_seconds / qa_seconds:.2f}x")


def _cpu_model() -> str:
    """The CPU's name: the ratio depends on it (native bfloat16 or not)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
