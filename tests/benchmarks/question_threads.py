"""Question encoding (NumPy, qa.index.question_encoder) on one BLAS thread against two.

Encodes the Super Bowl questions, switching the BLAS thread count question by question
(which goes first alternates), and prints p50/p95 of each and their ratio. `Pipeline.ask`
holds BLAS to one thread; this is the measurement behind that. Not a test: prints numbers.

    python tests/benchmarks/question_threads.py [--questions 400]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "tests" / "data" / "bench" / "superbowl" / "questions.jsonl"


def main() -> None:
    from qa.index.embedding import SentenceTransformerEmbedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=400)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line][: args.questions]
    embedder = SentenceTransformerEmbedder()
    embedder.warm_up()
    times: dict[int, list[float]] = {1: [], 2: []}
    for n, question in enumerate(questions):
        for threads in (1, 2) if n % 2 == 0 else (2, 1):
            with threadpool_limits(threads, user_api="blas"):
                started = time.perf_counter()
                embedder.embed_query(question)
                times[threads].append((time.perf_counter() - started) * 1000)
    for threads, values in times.items():
        print(f"{threads} BLAS thread{'s' if threads > 1 else ' '}  p50 {np.percentile(values, 50):6.2f} ms  "
              f"p95 {np.percentile(values, 95):6.2f} ms  ({len(values)} questions)")
    print(f"ratio 1 / 2 threads: p50 {np.percentile(times[1], 50) / np.percentile(times[2], 50):.2f}x  "
          f"p95 {np.percentile(times[1], 95) / np.percentile(times[2], 95):.2f}x")


if __name__ == "__main__":
    main()
