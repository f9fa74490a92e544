"""Peak memory of a full `qa index` build of a folder.

Run: `python tests/benchmarks/build_memory.py SOURCES [--index DIR] [--fake-model]`.
Builds the index (`--rebuild`) in a subprocess, the real command with the bundled model,
and prints the child's peak resident memory (getrusage RUSAGE_CHILDREN ru_maxrss), the
chunks, sentences and files indexed, the wall time and the index's size on disk. The index
goes to a temporary folder unless `--index` names one (kept, e.g. to measure opening it).

`--fake-model` runs `build_index` with an embedder of the same output shape but no model
(384-d random unit vectors: one per chunk and per sentence; word pieces are still counted
with the model's own tokenizer), so the storage path's memory can be measured at 100k
chunks on a machine where embedding them would take hours. Its peak lacks the model and
torch. It also prints the peak of each phase of the build (the child's resident memory
sampled every 0.1 s against the progress it reports: loading, embedding, saving, then
vector search, BM25 and hashing), to show where memory goes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from machine import cpu  # tests/benchmarks/machine.py (scripts run from their folder)

QA = str(Path(sys.executable).parent / "qa")
ROOT = Path(__file__).resolve().parents[2]

FAKE_WRITER = """
import sys
from pathlib import Path
import numpy as np
sys.path.insert(0, sys.argv[1])
from qa.index.embedding import Embedder, SentenceTransformerEmbedder
from qa.index.indexing import build_index


class ShapedRandomEmbedder(Embedder):
    model_id = "benchmark/shaped-random"
    dim = SentenceTransformerEmbedder.dim
    max_word_pieces = SentenceTransformerEmbedder.max_word_pieces
    model_sha256 = {"random": "0" * 64}

    def __init__(self):
        self.rng = np.random.default_rng(0)

    def _unit(self, n):
        v = self.rng.standard_normal((n, self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def embed(self, texts, *, on_batch=None):
        return self._unit(len(texts))

    # The bundled model's own counter (the same arithmetic), so that files are prepared in
    # worker processes as in `qa index` (a method defined here, in __main__, cannot be sent
    # to them, and the build process would prepare every file itself).
    count_word_pieces = SentenceTransformerEmbedder.count_word_pieces

    def embed_with_spans(self, texts, spans, *, on_batch=None):
        for batch in range(0, len(texts), 16):
            if on_batch:
                on_batch(len(texts[batch : batch + 16]))
        return self._unit(len(texts)), [self._unit(len(s)) for s in spans]


def phase(event):  # the parent samples memory against these lines
    stage = f"{event.stage}: {event.detail}" if event.stage == "index" and event.detail else event.stage
    print(f"PHASE {stage}", file=sys.stderr, flush=True)


build_index(Path(sys.argv[2]), Path(sys.argv[3]), embedder=ShapedRandomEmbedder(), rebuild=True, progress=phase)
"""


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(sources: Path, index_dir: Path, fake: bool = False, code: Path = ROOT) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    command = (
        [sys.executable, "-c", FAKE_WRITER, str(code), str(sources), str(index_dir)]
        if fake
        else [QA, "index", str(sources), "--index", str(index_dir), "--rebuild"]
    )
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    phases: dict[str, float] = {}  # phase -> peak MB sampled in it
    current = ["start"]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            mb = _rss_mb(child.pid)
            phases[current[0]] = max(phases.get(current[0], 0.0), mb)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    errors = []
    for line in child.stderr:
        if line.startswith("PHASE "):
            current[0] = line[6:].strip()
        else:
            errors.append(line)
    child.wait()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        sys.exit(f"qa index failed ({child.returncode}): {''.join(errors).strip()[-2000:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    current = (index_dir / "CURRENT").read_text().split()[0]
    manifest = json.loads((index_dir / current / "manifest.json").read_text())
    chunks = manifest["counts"]["chunks"]
    return {
        "peak_rss_mb": peak_kb / 1024,
        "chunks": chunks,
        "sentences": manifest["counts"]["sentences"],
        "files": manifest["counts"]["files"],
        "seconds": seconds,
        "index_mb": _size(index_dir / current) / 2**20,
        "store": manifest["store"]["kind"],
        "phases": phases,
    }


def _rss_mb(pid: int) -> float:
    """Resident memory of process `pid` now (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", type=Path)
    parser.add_argument("--index", type=Path, help="where to build (default: a temporary folder)")
    parser.add_argument("--fake-model", action="store_true", help="random vectors of the model's shape, no model")
    parser.add_argument("--code", type=Path, default=ROOT, help="with --fake-model: the qa checkout to run (to compare)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {cpu()}, {time.strftime('%Y-%m-%d')}")
    with tempfile.TemporaryDirectory(prefix="qa-build-memory-") as tmp:
        index_dir = args.index or Path(tmp) / "index"
        r = measure(args.sources, index_dir, fake=args.fake_model, code=args.code)
    print(
        f"{f'shaped random vectors, no model, code of {args.code}: ' if args.fake_model else ''}"
        f"{args.sources}: {r['files']:,} files, {r['chunks']:,} chunks, {r['sentences']:,} sentences; "
        f"peak RSS {r['peak_rss_mb']:,.0f} MB; {r['seconds']:,.0f} s; index {r['index_mb']:,.0f} MB ({r['store']})"
    )
    if len(r["phases"]) > 1:  # only the fake writer reports its phases
        print("peak RSS per phase (sampled every 0.1 s): " + ", ".join(f"{k} {v:,.0f} MB" for k, v in r["phases"].items()))


if __name__ == "__main__":
    main()
