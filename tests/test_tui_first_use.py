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


def header_lines(app) -> list[str]:
    """The source pane's header as it is drawn, line by line."""
    from textual.geometry import Region

    header = app.query_one("#source-title")
    return [strip.text for strip in header.render_lines(Region(0, 0, header.size.width, header.size.height))]


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_source_pane_header_is_whole_at_common_sizes(tmp_path, size):
    app, pipeline, _ = fake_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await ask(pilot, LAUNCH)
        await pilot.pause()
        drawn = " ".join(" ".join(header_lines(app)).split())
        location = pipeline.ask(LAUNCH).best.citation.location()
        assert f"{location} answer · 1/3 · Tab" in drawn


async def test_alternatives_show_their_rank_and_place_not_a_second_kind_of_score(tmp_path):
    app, pipeline, _ = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        card = await ask(pilot, LAUNCH)
        await pilot.press("f2")
        await pilot.pause()
        alternative = pipeline.ask(LAUNCH).alternatives[0]
        listed = str(card._alternatives.render())
        assert listed == f"1. {alternative.text}  {alternative.citation.location()}"
        assert "score" not in listed and "confidence 0.87" in shown(card)


async def test_a_quote_that_opens_with_a_quotation_mark_shows_it_once(tmp_path):
    from tests.tui_fakes import Scripted

    documents = {"speech.txt": "“We are ready for the launch in 2031,” the director said.\n"}
    question = "When is the launch?"
    app, _, _ = fake_app(tmp_path, documents, {question: Scripted(best=("speech.txt", "2031"))})
    async with app.run_test(size=SIZE) as pilot:
        card = await ask(pilot, question)
        text = shown(card)
        assert "“We are ready for the launch in 2031,” the director said.”" in text
        assert "““" not in text


async def test_a_question_over_the_limit_is_refused_without_being_echoed(tmp_path):
    from tui.widgets.answer_card import AnswerCard

    app, pipeline, _ = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await submit(pilot, "why " * 5000)
        await settle(pilot)
        assert not list(app.query(AnswerCard)) and pipeline.asked == []
        (message,) = [n.message for n in app._notifications if n.severity == "error"]
        assert "the limit is 2,000" in message and len(message) < 200
        assert app.query_one("#question").value == "why " * 5000  # kept, to shorten


async def test_the_welcome_points_at_the_status_line_and_says_how_to_quit(tmp_path):
    app, _, _ = fake_app(tmp_path)
    async with app.run_test(size=SIZE):
        welcome = str(app.query_one("#welcome").render())
        assert "below" not in welcome
        assert "bottom left" in welcome and "ctrl+q quits" in welcome


def test_transcripts_go_to_a_git_ignored_folder_not_the_current_one(tmp_path, monkeypatch):
    import subprocess

    from qa.config import default_transcripts
    from tests.conftest import ROOT

    monkeypatch.chdir(tmp_path)
    app = make_app(pipeline_factory=lambda *args: None)
    assert app.export_dir == default_transcripts() == ROOT / "transcripts"
    ignored = subprocess.run(["git", "check-ignore", "-q", "transcripts/qa-transcript-1.md"], cwd=ROOT)
    assert ignored.returncode == 0


async def test_loading_the_model_pulses_rather_than_sitting_at_0_percent(tmp_path):
    from textual.widgets import ProgressBar

    from tui.widgets.status_line import StatusLine

    app, _, _ = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        status = app.query_one(StatusLine)
        status.show_progress("seeds", Progress("model", 0, 1))
        await pilot.pause()
        assert app.query_one(ProgressBar).total is None  # indeterminate
        assert "loading the model…" in str(app.query_one("#status-text").render())
        status.show_progress("seeds", Progress("embed", 16, 22))
        await pilot.pause()
        assert app.query_one(ProgressBar).percentage == pytest.approx(16 / 22)
