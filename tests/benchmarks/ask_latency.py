"""Warm `Pipeline.ask` latency (question encoding included) on both bench sets.

Run: `python tests/benchmarks/ask_latency.py [--index-root DIR] [--reader shipped|DIR]
[--against-torch]`. `--reader` says which trained reader answers (`shipped`, the default,
or a folder from `qa train-reader`). `--against-torch` also times every question encoded the way qa
did before the NumPy question encoder (torch, one thread), alternating which goes first
question by question, and prints the ratios: the before/after on a shared machine. Builds
(or reuses) an
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


def _torch_question_embedder():
    """The embedder as it encoded questions before qa.index.question_encoder: torch, one thread."""
    import torch

    from qa.index.embedding import SentenceTransformerEmbedder

    class TorchQuestions(SentenceTransformerEmbedder):
        def warm_up(self):
            self.embed(["warm up"])

        def questions_on_torch(self):
            return self  # this embed_query, even beside the reader

        def embed_query(self, text):
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                return self._forward([text])[0][0]
            finally:
                torch.set_num_threads(threads)

    return TorchQuestions()


def _timed(pipeline, question: str) -> float:
    started = time.perf_counter()
    pipeline.ask(question)
    return (time.perf_counter() - started) * 1000


def _line(times: list[float]) -> str:
    return (f"ask p50 {_percentile(times, 50):5.1f} ms  p95 {_percentile(times, 95):5.1f} ms  "
            f"mean {statistics.mean(times):5.1f} ms")


def main() -> None:
    from qa.errors import IndexIncompatibleError
    from qa.pipeline import Pipeline

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index-root", type=Path, default=Path("/tmp/qa-ask-latency"))
    parser.add_argument("--reader", default="shipped", help="`shipped` or a folder from `qa train-reader`")
    parser.add_argument("--against-torch", action="store_true", help="also time torch question encoding, interleaved")
    args = parser.parse_args()
    before = _torch_question_embedder() if args.against_torch else None
    print(f"answering through the reader {args.reader}")
    for name, (questions_file, sources) in SETS.items():
        questions = [json.loads(line)["question"] for line in questions_file.read_text().splitlines() if line]
        try:
            pipeline = Pipeline.open(args.index_root / name, sources=sources, reader=args.reader)
        except IndexIncompatibleError:  # left by an older qa: this script's own cache
            pipeline = Pipeline.open(args.index_root / name, sources=sources, reader=args.reader, rebuild=True)
        old = Pipeline.open(args.index_root / name, sources=sources, reader=args.reader, embedder=before) if before else None
        for q in questions[:20]:
            pipeline.ask(q)
            if old:
                old.ask(q)
        times, old_times = [], []
        for n, q in enumerate(questions):
            if old and n % 2:
                old_times.append(_timed(old, q))
            times.append(_timed(pipeline, q))
            if old and not n % 2:
                old_times.append(_timed(old, q))
        encode = []
        for q in questions[:100]:
            # On one BLAS thread, as `ask` encodes (with the default two, this column read
            # ~0.7x of what `ask` spends encoding: 10.5 against 15.0 ms on 2026-12-04).
            with pipeline._blas.one_thread():
                started = time.perf_counter()
                pipeline._questions.embed_query(q)  # what `ask` runs (on torch beside the reader)
                encode.append((time.perf_counter() - started) * 1000)
        print(f"{name:10s} {len(questions):4d} questions  {_line(times)}  (encoding alone p50 {_percentile(encode, 50):.1f} ms)")
        if old:
            print(f"{'':10s} torch questions  {_line(old_times)}")
            print(f"{'':10s} ratio now / torch: p50 {_percentile(times, 50) / _percentile(old_times, 50):.2f}x  "
                  f"p95 {_percentile(times, 95) / _percentile(old_times, 95):.2f}x")
        index = pipeline._index
        size = sum(entry["bytes"] for entry in index.manifest["artifacts"].values())
        print(
            f"{'':10s} index {size / 1e6:.1f} MB for {len(index.chunks)} chunks "
            f"({size / max(1, len(index.chunks)) / 1e3:.1f} KB a chunk)"
        )


if __name__ == "__main__":
    main()
