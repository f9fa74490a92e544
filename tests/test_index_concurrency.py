"""Readers never wait for or fail on a writer; writers wait for each other.

Real processes where it matters: a writer process rebuilding in a loop while this process
opens and asks, and the `qa` command itself while another process holds the writer lock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qa.errors import IndexLockedError
from qa.index import generations, manifest as mf
from qa.index.indexing import build_index, load_index
from qa.pipeline import Pipeline
from tests.conftest import ROOT
from tests.fakes import FakeEmbedder

QUESTION = "When was the Hubble telescope launched?"


@pytest.fixture
def small(tmp_path, fake_embedder):
    """(sources, index) of a two-file index built with the fake embedder."""
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / "hubble.txt").write_text("The Hubble telescope was launched in 1990 aboard Discovery.\n")
    (sources / "voyager.txt").write_text("Voyager 1 left the heliosphere in 2012.\n")
    index = tmp_path / "idx"
    build_index(sources, index, embedder=fake_embedder)
    return sources, index


class Holder(threading.Thread):
    """Holds the writer lock from another thread for `seconds` or until `release()` (flock
    conflicts between two open files even in one process, as between two processes)."""

    def __init__(self, index: Path, seconds: float):
        super().__init__()
        self.index, self.seconds = index, seconds
        self._taken, self._released = threading.Event(), threading.Event()

    def run(self):
        with generations.writer_lock(self.index):
            self._taken.set()
            self._released.wait(self.seconds)

    def release(self):
        self._released.set()
        self.join()


def hold_lock(index: Path, seconds: float) -> Holder:
    holder = Holder(index, seconds)
    holder.start()
    holder._taken.wait()
    return holder


def test_a_writer_waits_for_another_with_a_message_then_proceeds(small, fake_embedder):
    sources, index = small
    (sources / "new.txt").write_text("Pluto was reclassified in 2006.\n")
    holder = hold_lock(index, 0.6)
    said: list[str] = []
    started = time.monotonic()
    report = build_index(sources, index, embedder=fake_embedder, wait=30, on_wait=said.append)
    holder.join()
    assert time.monotonic() - started >= 0.5
    assert report.added == ("new.txt",)
    assert said == [f"waiting for another qa process writing the index {index} (up to 30 s)"]


def test_a_writer_gives_up_after_its_wait(small, fake_embedder):
    sources, index = small
    holder = hold_lock(index, 60)
    try:
        started = time.monotonic()
        with pytest.raises(IndexLockedError, match=r"another qa process is writing .*\(waited 0.3 s\)"):
            build_index(sources, index, embedder=fake_embedder, rebuild=True, wait=0.3)
        assert 0.3 <= time.monotonic() - started < 30  # gave up long before the holder would
    finally:
        holder.release()


def test_opening_reads_without_the_writer_lock(small, fake_embedder):
    """Up to date: loaded and answered while a writer holds the lock. Stale: answered
    from the current generation, with a notice, instead of waiting or failing."""
    sources, index = small
    live = generations.current_generation(index)
    holder = hold_lock(index, 60)
    try:
        started = time.monotonic()
        pipeline = Pipeline.open(index, embedder=fake_embedder)
        assert pipeline.report is None and pipeline.notice is None
        assert pipeline.ask(QUESTION).passages[0].source == "hubble.txt"
        (sources / "new.txt").write_text("Pluto was reclassified in 2006.\n")
        stale = Pipeline.open(index, embedder=fake_embedder)
        assert time.monotonic() - started < 30  # neither waited for the 60 s writer
        assert "another qa process is updating the index" in stale.notice
        assert stale._index.generation == live and "new.txt" not in stale._index.documents
        assert stale.ask(QUESTION).passages[0].source == "hubble.txt"
    finally:
        holder.release()
    updated = Pipeline.open(index, embedder=fake_embedder)  # no writer now: it updates
    assert updated.report.added == ("new.txt",) and "new.txt" in updated._index.documents
    assert updated.notice is None


def test_opening_a_missing_index_waits_for_the_writer_building_it(small, fake_embedder, tmp_path):
    sources, _ = small
    index = tmp_path / "fresh"
    holder = hold_lock(index, 60)
    release = threading.Timer(1.0, holder.release)  # the other writer finishes in a second
    try:
        with pytest.raises(IndexLockedError):
            Pipeline.open(index, sources=sources, embedder=fake_embedder, wait=0.2)
        said: list[str] = []
        release.start()
        pipeline = Pipeline.open(index, sources=sources, embedder=fake_embedder, wait=60, on_wait=said.append)
    finally:
        release.cancel()
        holder.release()
    assert said and "waiting for another qa process" in said[0]
    assert set(pipeline._index.documents) == {"hubble.txt", "voyager.txt"}


def test_a_reader_whose_generation_is_replaced_under_it_reloads(small, fake_embedder, monkeypatch):
    sources, index = small
    old = generations.current_generation(index)
    (sources / "new.txt").write_text("Pluto was reclassified in 2006.\n")
    real_verify = mf.verify_artifacts
    calls = []

    def replaced_meanwhile(generation, manifest, required, **how):
        calls.append(generation.name)
        if len(calls) == 1:  # a writer publishes and removes this generation mid-load
            build_index(sources, index, embedder=FakeEmbedder())
            assert not generation.exists()
        return real_verify(generation, manifest, required, **how)

    monkeypatch.setattr(mf, "verify_artifacts", replaced_meanwhile)
    loaded = load_index(index, embedder=fake_embedder)
    assert calls[0] == old.name and loaded.generation == generations.current_generation(index) != old
    assert "new.txt" in loaded.documents


WRITER = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from qa.index.indexing import build_index
from tests.fakes import FakeEmbedder
sources, index, stop = Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
embedder = FakeEmbedder()
n = 0
while not stop.exists():
    build_index(sources, index, embedder=embedder, rebuild=True, wait=30)
    n += 1
    print(n, flush=True)
"""


def test_readers_answer_while_another_process_rebuilds_in_a_loop(small, tmp_path):
    """20 and more opens-and-asks, each from a complete generation, while a writer process
    publishes a new generation and deletes the old one as fast as it can."""
    sources, index = small
    for n in range(10):  # more text, so that a rebuild takes long enough to overlap
        (sources / f"filler{n}.txt").write_text(f"Filler note {n} mentions nothing about telescopes.\n" * 20)
    build_index(sources, index, embedder=FakeEmbedder())  # up to date: readers need no update
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(ROOT), str(sources), str(index), str(stop)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    answered, generations_seen = 0, set()
    try:
        deadline = time.monotonic() + 60
        while (answered < 20 or len(generations_seen) < 3) and time.monotonic() < deadline:
            pipeline = Pipeline.open(index, embedder=FakeEmbedder())
            answer = pipeline.ask(QUESTION)
            assert answer.passages[0].source == "hubble.txt"
            assert len(pipeline._index.documents) == 12
            generations_seen.add(pipeline._index.generation.name)
            answered += 1
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert answered >= 20 and len(generations_seen) >= 3  # two swaps, an old one deleted
    assert int(out.split()[-1]) >= 2  # the writer really rebuilt, again and again
    assert [p for p in index.iterdir() if p.name.startswith("gen-")] == [generations.current_generation(index)]


def qa_command(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", COLUMNS="200")
    return subprocess.run(
        [str(Path(sys.executable).parent / "qa"), *args],
        capture_output=True, text=True, timeout=timeout, env=env,
    )


@pytest.mark.slow
def test_qa_ask_answers_and_qa_index_waits_while_another_process_writes(tmp_path, real_embedder):
    """The real command and model: with the index stale and the writer lock held elsewhere,
    `qa ask` answers from the current generation at once; `qa index` says it waits, then
    gives up with a one-line error after --wait."""
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / "hubble.txt").write_text("The Hubble telescope was launched in 1990 aboard Discovery.\n")
    index = tmp_path / "idx"
    build_index(sources, index, embedder=real_embedder)
    (sources / "new.txt").write_text("Pluto was reclassified as a dwarf planet in 2006.\n")
    holder = hold_lock(index, 300)
    try:
        ask = qa_command("ask", QUESTION, "--index", str(index))
        waiting = qa_command("index", str(sources), "--index", str(index), "--wait", "1")
    finally:
        holder.release()
    assert ask.returncode == 0, ask.stderr
    assert "1990" in ask.stdout and "hubble.txt:1" in ask.stdout
    assert "another qa process is updating the index" in ask.stderr
    assert waiting.returncode == 1
    lines = waiting.stderr.strip().splitlines()
    assert lines[0] == f"qa: waiting for another qa process writing the index {index} (up to 1 s)"
    assert lines[-1].startswith("qa: error: another qa process is writing the index") and "waited 1 s" in lines[-1]
