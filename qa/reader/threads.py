"""How many threads torch gets for a question: all of them while they get their cores, else one.

torch's OpenMP threads spin and wait for each other at the end of every operation. When
another process holds a core, each of a question's ~200 operations waits for the
scheduler to run the missing thread: Super Bowl `ask` p50 265-627 ms with one busy loop
beside it, against ~25 ms on a quiet machine (2 cores, 2026-12-04), and 384 ms while a
test run used the cores, where one thread took 35 ms (README). A question whose threads got their
cores uses about one second of CPU per second per thread (measured 1.98 on two threads at
the median, 1.87 at the 10th percentile); under that busy loop it got 1.12. So after a
question that got less than SHARE of its threads' time, questions run on one thread for
RETRY_SECONDS, then all the threads are tried again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class TorchThreads:
    SHARE = 0.8  # of threads x wall time, in CPU time: below it the cores were taken
    RETRY_SECONDS = 30.0
    MIN_WALL = 0.002  # shorter questions say nothing about the cores

    def __init__(
        self,
        *,
        set_threads: Callable[[int], None] | None = None,
        most: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        cpu: Callable[[], float] = time.process_time,
        wall: Callable[[], float] = time.perf_counter,
    ):
        if set_threads is None or most is None:
            import torch

            set_threads = set_threads or torch.set_num_threads
            most = most or torch.get_num_threads()  # the cores, or what OMP_NUM_THREADS says
        self._set, self.most = set_threads, most
        self._clock, self._cpu, self._wall = clock, cpu, wall
        self._one_until = float("-inf")
        self.threads = most

    @contextmanager
    def question(self) -> Iterator[int]:
        """Run one question's torch work inside; yields the threads it gets."""
        threads = self.most if self._clock() >= self._one_until else 1
        # Set on every question: leaving the BLAS limit of `Pipeline.ask` (threadpoolctl, which
        # also drives torch's MKL) puts the OpenMP threads back to where it found them.
        self._set(threads)
        self.threads = threads
        cpu, wall = self._cpu(), self._wall()
        try:
            yield threads
        finally:
            took = self._wall() - wall
            if threads > 1 and took >= self.MIN_WALL and self._cpu() - cpu < self.SHARE * threads * took:
                self._one_until = self._clock() + self.RETRY_SECONDS
