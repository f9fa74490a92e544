"""kill -9 torture: SIGKILL `qa index` at random moments, then check the index every time.

Run: `python tests/benchmarks/kill_torture.py [--kills 40] [--seed 11] [--fake-model]`.
On a private copy of seeds/, each round changes the sources (appends to a file, adds or
removes one), starts the real `qa index` (an update, or `--rebuild` every third round)
and SIGKILLs it after a random delay within its run time (the median of recent runs that
finished; a run that finishes before its kill does not count), until 40 kills have landed
during builds. After every round the index must load (every file listed and matching its
sha256), its offsets must be exact (chunks and sentences inside their
documents, documents matching their recorded sha256) and a question must get an answer
whose citation is verbatim. A generation left behind by a kill (half-written, or old and
not yet removed) must be gone after the next writer open. Prints the figures; exits 1 on
any failure.
Not a test: it takes minutes (a model load per round). `--fake-model` runs `build_index`
with the tests' hashing embedder in a fresh process instead of `qa index`: the same write
path (generations, fsyncs, the swap of `CURRENT`, cleaning), without torch, for machines
where a model load per round takes too long.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu  # tests/benchmarks/machine.py (scripts run from their folder)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]
QA = str(Path(sys.executable).parent / "qa")
QUESTION = "When will Russia withdraw from the International Space Station?"


# `--fake-model`: what `qa index` does, with the hashing embedder of the tests.
FAKE_WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from qa.index.indexing import build_index
from tests.fakes import FakeEmbedder
build_index(Path(sys.argv[2]), Path(sys.argv[3]), embedder=FakeEmbedder(), rebuild=sys.argv[4] == "rebuild")
"""


def _writer(fake: bool, sources: Path, index_dir: Path, rebuild: bool) -> list[str]:
    if fake:
        return [sys.executable, "-c", FAKE_WRITER, str(ROOT), str(sources), str(index_dir), "rebuild" if rebuild else "update"]
    return [QA, "index", str(sources), "--index", str(index_dir)] + (["--rebuild"] if rebuild else [])


def _change_sources(sources: Path, rng: random.Random, round_: int) -> None:
    files = sorted(p for p in sources.iterdir() if p.is_file())
    action = rng.choice(["append", "append", "add", "remove"])
    if action == "remove" and len(files) > 2:
        rng.choice([f for f in files if f.name.startswith("extra")] or files[2:]).unlink()
    elif action == "add":
        (sources / f"extra{round_}.txt").write_text(
            f"Round {round_} note. The probe number {round_} was launched in {1990 + round_}.\n\n"
            "It carried a camera and a magnetometer.\n"
        )
    else:
        with open(rng.choice(files), "a", encoding="utf-8") as f:
            f.write(f"\nAn appended paragraph of round {round_} about orbital debris and lunar dust.\n")


def _check(index_dir: Path, embedder, must_answer: bool) -> tuple[list[str], str]:
    """Problems found in the index (empty when it is sound), and its generation name."""
    from qa.index.indexing import load_index
    from qa.pipeline import Pipeline

    problems = []
    index = load_index(index_dir, embedder=embedder)  # raises on any unlisted or mismatched file
    for source, entry in index.manifest["files"].items():
        document = index.document(source)
        if document.sha256 != entry["sha256"] or (
            document.kind == "text" and hashlib.sha256(document.text.encode("utf-8")).hexdigest() != entry["sha256"]
        ):
            problems.append(f"{source}: text does not match its recorded sha256")
    for chunk in index.chunks:
        text = index.document(chunk.source).text
        if not (0 <= chunk.start < chunk.end <= len(text)) or text[chunk.start : chunk.end] != chunk.text:
            problems.append(f"chunk {chunk.source}:{chunk.start}-{chunk.end} out of its document")
    for s in index.sentence_list:
        if not (0 <= s.start < s.end <= len(index.document(s.source).text)):
            problems.append(f"sentence {s.source}:{s.start}-{s.end} out of its document")
    answer = Pipeline.open(index_dir, build=False, embedder=embedder).ask(QUESTION)
    if answer.best is None:
        if must_answer:  # the hashing embedder may well abstain; the real model answers
            problems.append(f"no answer to {QUESTION!r}: {answer.reason}")
    else:
        c = answer.best.citation
        if index.document(c.source).text[c.start : c.end] != c.text:
            problems.append("the answer's citation is not verbatim")
    return problems, index.generation.name


def main() -> int:
    from qa.index.embedding import default_embedder
    from qa.index.generations import PREFIX, current_generation

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=40)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--fake-model", action="store_true", help="build with the tests' hashing embedder")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="qa-torture-"))
    sources, index_dir = work / "sources", work / "index"
    shutil.copytree(ROOT / "seeds", sources)
    if args.fake_model:
        sys.path.insert(0, str(ROOT))
        from tests.fakes import FakeEmbedder

        embedder = FakeEmbedder()
    else:
        embedder = default_embedder()
    writer = "build_index with the hashing embedder" if args.fake_model else "`qa index`"

    started = time.monotonic()
    subprocess.run(_writer(args.fake_model, sources, index_dir, False), check=True, capture_output=True)
    full = time.monotonic() - started  # a build, model load included: the kill window
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu()}; one run of {writer} takes {full:.1f} s here")

    killed_running = finished = failures = orphans_seen = swaps = rounds = 0
    durations = [full]  # of runs that finished: the kill window follows the machine's pace
    previous_generation = current_generation(index_dir).name  # the calibration run's
    while killed_running < args.kills and rounds < 3 * args.kills:
        rounds += 1
        _change_sources(sources, rng, rounds)
        command = _writer(args.fake_model, sources, index_dir, rebuild=rounds % 3 == 0)
        window = statistics.median(durations[-5:])
        launched = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        delay = rng.uniform(0.1 * window, 0.95 * window)
        try:
            process.wait(timeout=delay)
            finished += 1  # done before its kill: not a kill during a build
            durations.append(time.monotonic() - launched)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            killed_running += 1
        leftovers = [p.name for p in index_dir.iterdir() if p.name.startswith(PREFIX)]
        orphans_seen += len(leftovers) > 1
        try:
            problems, generation = _check(index_dir, embedder, not args.fake_model)
        except Exception as exc:  # noqa: BLE001 - any failure to load or ask is what we count
            problems, generation = [f"{type(exc).__name__}: {exc}"], None
        swaps += generation != previous_generation
        previous_generation = generation
        if problems:
            failures += 1
            print(f"round {rounds}: " + "; ".join(problems[:3]), flush=True)
        print(f"round {rounds}: {'killed' if process.returncode == -signal.SIGKILL else 'finished'} "
              f"after {time.monotonic() - launched:.1f} s, {len(leftovers)} generation(s)", file=sys.stderr, flush=True)

    final = subprocess.run(_writer(args.fake_model, sources, index_dir, False), capture_output=True, text=True)
    left = sorted(p.name for p in index_dir.iterdir() if p.name.startswith(PREFIX) or p.name.endswith(".tmp"))
    problems, _ = _check(index_dir, embedder, not args.fake_model)
    print(
        f"{killed_running} SIGKILLs while {writer} ran ({rounds} rounds, {finished} finished before their kill); "
        f"{swaps} new generations published by killed runs; {failures} rounds with a problem (load, hashes, "
        f"offsets or ask); {orphans_seen} kills left a half-written or old generation behind; after the next writer "
        f"(exit {final.returncode}): {len(left)} generation(s) left, {len(problems)} problems"
    )
    print(f"{time.monotonic() - started:.0f} s in all; work folder {work}")
    ok = failures == 0 and final.returncode == 0 and len(left) == 1 and not problems and killed_running == args.kills
    if ok:
        shutil.rmtree(work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
