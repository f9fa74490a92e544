"""Cold `qa ask` on the seeds against `python -c "import torch"`, in interleaved rounds.

Each round starts both as fresh processes, one after the other (the order alternates), so
both see the same load on a shared machine; the ratio of the medians is the figure to
quote (issue 12: <= 1.5 s wall and <= 0.5x importing torch). The index is built once
before timing (and reused), so the rounds time what a person waits for after asking: the
interpreter, the imports, opening the index, encoding the question and answering.
Also prints which heavy libraries the ask imported. Not a test: prints numbers.

    python tests/benchmarks/cold_start.py [--rounds 10] [--index-root DIR] [--reader shipped|DIR]

`--reader` is passed to `qa ask` (the trained reader loads torch to answer).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "Which opposition activist was imprisoned?"
HEAVY = ("torch", "sentence_transformers", "transformers", "scipy", "sklearn", "bm25s", "faiss", "tokenizers")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def _wall(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, env=ENV, cwd=ROOT)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--index-root", type=Path, default=Path("/tmp/qa-cold-start"))
    parser.add_argument("--reader", default="shipped", help="who answers: shipped (default) or a folder from `qa train-reader`")
    args = parser.parse_args()
    index = args.index_root / "seeds"
    ask = [sys.executable, "-m", "qa", "ask", QUESTION, "--sources", str(ROOT / "seeds"), "--index", str(index),
           "--reader", args.reader]
    torch = [sys.executable, "-c", "import torch"]
    # (Re)build the scratch index with this qa (one left by an older qa would be refused),
    # then warm the page cache for both sides.
    subprocess.run([sys.executable, "-m", "qa", "index", str(ROOT / "seeds"), "--index", str(index), "--rebuild"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, cwd=ROOT)
    _wall(ask)
    _wall(torch)

    times: dict[str, list[float]] = {"ask": [], "torch": []}
    for n in range(args.rounds):
        pair = [("ask", ask), ("torch", torch)]
        for name, command in pair if n % 2 == 0 else reversed(pair):
            times[name].append(_wall(command))

    probe = (
        "import sys\nfrom qa.cli import main\ntry:\n"
        f"    main({ask[3:]!r})\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=ENV, cwd=ROOT).stderr
    ask_median, torch_median = statistics.median(times["ask"]), statistics.median(times["torch"])
    print(f"{args.rounds} interleaved rounds, fresh processes, question {QUESTION!r} on seeds/, --reader {args.reader}")
    for name in ("ask", "torch"):
        values = sorted(times[name])
        label = "qa ask (cold)" if name == "ask" else "import torch"
        print(f"{label:15s} median {statistics.median(values):5.2f} s  min {values[0]:5.2f} s  max {values[-1]:5.2f} s")
    print(f"ratio qa ask / import torch: {ask_median / torch_median:.2f}x (medians)")
    print("heavy libraries imported by the ask:", next((line[6:] for line in loaded.splitlines() if line.startswith("HEAVY ")), loaded.strip()[-300:]))


if __name__ == "__main__":
    main()
