"""Snapshots of the terminal UI's main states (pytest-textual-snapshot), on the fake
pipeline so they are deterministic. Regenerate with `pytest --snapshot-update` and look
at the SVGs under tests/__snapshots__/ before committing them."""

from __future__ import annotations

from pathlib import Path

from tests.tui_fakes import FakeFactory, FakePipeline, Scripted, settle, submit
from tui.app import make_app

SIZE = (120, 40)
DOCUMENTS = {
    "harbour.txt": (
        "Harbour town council meeting\n\n"
        "The council met on Tuesday to discuss the new lighthouse.\n\n"
        "The lighthouse will be built by Marta Quint, a local engineer, and should open "
        "in 2027 if the budget is approved.\n\n"
        "Residents asked about parking near the pier; no decision was taken.\n"
    ),
    "notes.md": (
        "# Notes\n\n"
        "Marta Quint also restored the old bridge in 2019.\n\n"
        "The pier was extended in 2011.\n"
    ),
}
BUILDER = "Who will build the lighthouse?"
SCRIPT = {
    BUILDER: Scripted(
        best=("harbour.txt", "Marta Quint"),
        also_in=(("notes.md", "Marta Quint"),),
        alternatives=(("harbour.txt", "a local engineer"),),
        confidence=0.91,
    )
}


def app_for_snapshots():
    pipeline = FakePipeline(DOCUMENTS, SCRIPT, sources_dir=Path("harbour-sources"))
    return make_app(pipeline_factory=FakeFactory(pipeline), export_dir=Path("/nonexistent"))


def test_ready_and_empty(snap_compare):
    async def run_before(pilot):
        await settle(pilot)

    assert snap_compare(app_for_snapshots(), run_before=run_before, terminal_size=SIZE)


def test_answered(snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        await submit(pilot, BUILDER)
        await settle(pilot)
        await pilot.press("f2")  # open the alternatives
        await settle(pilot)

    assert snap_compare(app_for_snapshots(), run_before=run_before, terminal_size=SIZE)


def test_not_in_the_sources(snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        await submit(pilot, "When will the parking near the pier open?")
        await settle(pilot)

    assert snap_compare(app_for_snapshots(), run_before=run_before, terminal_size=SIZE)


def test_help(snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(app_for_snapshots(), run_before=run_before, terminal_size=SIZE)
