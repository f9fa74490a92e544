"""torch's threads per question (qa.reader.threads): all of them while they get their
cores, one for a while after a question showed the cores were taken."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from qa.reader.threads import TorchThreads


class _Clocks:
    """Wall, CPU and monotonic time a test moves by hand."""

    def __init__(self):
        self.now, self.cpu_used = 100.0, 0.0

    def run(self, seconds: float, cpu_per_second: float) -> None:
        self.now += seconds
        self.cpu_used += seconds * cpu_per_second


def _policy(most: int = 2):
    clocks, set_to = _Clocks(), []
    threads = TorchThreads(
        set_threads=set_to.append, most=most, clock=lambda: clocks.now, cpu=lambda: clocks.cpu_used,
        wall=lambda: clocks.now,
    )
    return threads, clocks, set_to


def _question(threads: TorchThreads, clocks: _Clocks, seconds: float, cpu_per_second: float) -> int:
    with threads.question() as n:
        clocks.run(seconds, cpu_per_second)
    return n


def test_threads_that_get_their_cores_are_kept():
    threads, clocks, set_to = _policy()
    assert [_question(threads, clocks, 0.025, 1.9) for _ in range(5)] == [2] * 5
    assert set_to == [2] * 5  # set on every question (the BLAS limit around `ask` resets it)


def test_after_a_question_that_did_not_get_its_cores_one_thread_until_the_retry():
    threads, clocks, set_to = _policy()
    assert _question(threads, clocks, 0.2, 1.1) == 2  # a busy neighbour: 1.1 s of CPU a second
    assert _question(threads, clocks, 0.03, 1.0) == 1
    clocks.run(TorchThreads.RETRY_SECONDS - 1, 0)
    assert _question(threads, clocks, 0.03, 1.0) == 1
    clocks.run(1, 0)
    assert _question(threads, clocks, 0.025, 1.9) == 2  # tried again: the cores are back
    assert _question(threads, clocks, 0.025, 1.9) == 2
    assert set_to == [2, 1, 1, 2, 2]


def test_a_question_too_short_to_tell_changes_nothing():
    threads, clocks, _ = _policy()
    assert _question(threads, clocks, TorchThreads.MIN_WALL / 2, 0.0) == 2
    assert _question(threads, clocks, 0.025, 1.9) == 2


def test_one_thread_configured_stays_one():
    threads, clocks, set_to = _policy(most=1)
    assert [_question(threads, clocks, 0.2, 0.5) for _ in range(3)] == [1, 1, 1]
    assert set_to == [1, 1, 1]


@pytest.mark.slow
def test_the_reader_drops_to_one_thread_when_other_processes_hold_the_cores(tmp_path):
    """Real torch, real reader: a busy loop per core beside it, and its next questions run
    on one thread (two threads waited ~10x as long on the scheduler, qa/reader/threads.py),
    with the same answers."""
    import shutil

    from qa.pipeline import Pipeline
    from tests.conftest import SEEDS

    shutil.copytree(SEEDS, tmp_path / "seeds")
    pipeline = Pipeline.open(tmp_path / "index", sources=tmp_path / "seeds", reader="shipped")
    question = "Who is the head of Roscosmos?"
    quiet = pipeline.ask(question)
    most = pipeline._torch_threads.most
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        loaded = [pipeline.ask(question) for _ in range(3)]
        threads = pipeline._torch_threads.threads
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert threads == 1 and most >= 1
    assert {a.text for a in loaded} == {quiet.text}
