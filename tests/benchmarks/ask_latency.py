"""Warm `Pipeline.ask` latency (question encoding included) on both bench sets.

Run: `python tests/benchmarks/ask_latency.py [--index-root DIR] [--reader shipped|DIR]`.
`--reader` times answering through the trained reader instead of the hand-tuned
extractor. Builds (or reuses) an
index per set under the root, asks every question once to warm up, then times a second
pass and prints p50/p95. Prints numbers; not a test (timings on 2 shared cores are noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "data" / "bench"  # copies of the shared bench sets
SETS = {
    "seeds-dev": (BENCH / "seeds-dev.jsonl", ROOT / "seeds"),
    "superbowl": (BENCH / "superbowl" / "questions.jsonl", BENCH / "superbowl" / "sources"),
}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * q / 100))]


def main() -> None:
    from qa.pipeline import Pipeline

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index-root", type=Path, default=Path("/tmp/qa-ask-latency"))
    parser.add_argument("--reader", default=None, help="`shipped` or a folder from `qa train-reader`")
    args = parser.parse_args()
    print(f"answering through {'the reader ' + args.reader if args.reader else 'the hand-tuned extractor'}")
    for name, (questions_file, sources) in SETS.items():
        questions = [json.loads(line)["question"] for line in questions_file.read_text().splitlines() if line]
        pipeline = Pipeline.open(args.index_root / name, sources=sources, reader=args.reader)
        for q in questions[:20]:
            pipeline.ask(q)
        times = []
        for q in questions:
            started = time.perf_counter()
            pipeline.ask(q)
            times.append((time.perf_counter() - started) * 1000)
        encode = []
        for q in questions[:100]:
            started = time.perf_counter()
            pipeline._embedder.embed_query(q)  # what `ask` runs: vector and token vectors
            encode.append((time.perf_counter() - started) * 1000)
        print(
            f"{name:10s} {len(questions):4d} questions  ask p50 {_percentile(times, 50):5.1f} ms  "
            f"p95 {_percentile(times, 95):5.1f} ms  mean {statistics.mean(times):5.1f} ms  "
            f"(encoding alone p50 {_percentile(encode, 50):.1f} ms)"
        )
        index = pipeline._index
        print(
            f"{'':10s} token vectors {index.token_vectors.nbytes / 1e6:.1f} MB for {len(index.chunks)} chunks "
            f"({index.token_vectors.nbytes / max(1, len(index.chunks)) / 1e3:.0f} KB a chunk), "
            f"late interaction {'on' if len(index.token_vectors) else 'off'}"
        )


if __name__ == "__main__":
    main()
