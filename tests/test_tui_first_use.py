"""What a newcomer meets in the terminal UI's first hour (issue 10): quitting mid-build,
the build's progress, long questions, scores, the palette, transcripts, the source pane
at narrow widths. Driven through Pilot with the fake pipeline of tests/tui_fakes.py."""

from __future__ import annotations

import threading
import time

import pytest

from qa.types import Progress
from tests.test_tui import DOCS, LAUNCH, SIZE, ask, fake_app, shown
from tests.tui_fakes import settle, submit
from tui.app import make_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_quitting_while_the_index_builds_ends_the_build(tmp_path):
    stopped = threading.Event()

    def long_build(sources, index, rebuild, progress):
        try:
            for done in range(2000):  # 20 s of "embedding" unless it is stopped
                progress(Progress("embed", done, 2000))
                time.sleep(0.01)
        finally:
            stopped.set()

    app = make_app(pipeline_factory=long_build, export_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        assert not stopped.is_set()
        await pilot.press("ctrl+q")
        quit_at = time.monotonic()
    # Python waits for a worker thread at exit: the build must stop, not run to its end.
    assert stopped.wait(10)
    assert time.monotonic() - quit_at < 5
