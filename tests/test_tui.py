"""Behaviour of the terminal UI, driven through Textual's Pilot.

Most tests use `FakePipeline` (tests/tui_fakes.py) so they are fast and deterministic;
`test_real_pipeline_answers_from_a_copy_of_the_seeds` runs the real model and index.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.text import Text

from qa.errors import IndexCorruptError, SourcesError
from tests.conftest import SEEDS
from tests.tui_fakes import FakeFactory, FakePipeline, Scripted, settle, submit
from tui.app import make_app
from tui.editor import editor_command
from tui.literal import literal
from tui.widgets.answer_card import AnswerCard
from tui.widgets.source_pane import location_of

# Async tests run on anyio's pytest plugin (installed with anyio), on asyncio only.
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


SIZE = (120, 40)
FILLER = "".join(f"Filler line {n} says nothing in particular.\n" for n in range(150))
DOCS = {
    "station.txt": (
        "Space news\n\n"
        "Russia will withdraw from the station in 2025, officials said.\n\n"
        "The station was launched in 1998 by Russia and the United States.\n\n"
        + FILLER
        + "\nThe last crew will leave the station in 2030.\n"
    ),
    "history.md": "# History\n\nThe first module of the station was launched in 1998.\n",
}
LAUNCH = "When was the station launched?"
SCRIPT = {
    LAUNCH: Scripted(
        best=("station.txt", "1998"),
        also_in=(("history.md", "1998"),),
        alternatives=(("station.txt", "2030"),),
    )
}


def fake_app(tmp_path: Path, documents=None, script=None, **factory_args):
    pipeline = FakePipeline(documents or DOCS, script if script is not None else SCRIPT)
    factory = FakeFactory(pipeline, **factory_args)
    app = make_app(pipeline_factory=factory, export_dir=tmp_path)
    return app, pipeline, factory


async def ask(pilot, question: str) -> AnswerCard:
    await submit(pilot, question)
    await settle(pilot)
    return list(pilot.app.query(AnswerCard))[-1]


def shown(card: AnswerCard) -> str:
    return card.body.text().plain


def errors(app) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


async def test_ask_shows_answer_evidence_and_citation(tmp_path):
    app, pipeline, _ = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        card = await ask(pilot, LAUNCH)
        text = shown(card)
        answer = pipeline.ask(LAUNCH)
        assert card.has_class("-answered")
        assert f"A  {answer.best.text}" in text
        assert answer.best.evidence.text in text
        assert answer.best.citation.location() in text
        assert f"also in {answer.best.also_in[0].location()}" in text
        assert "confidence 0.87" in text
        # The answer is marked inside its evidence sentence, at the citation's offsets.
        marked = [
            text[s.start : s.end]
            for s in card.body.text().spans
            if s.style == card.body._style("mark")
        ]
        assert marked == [answer.best.text]
        # The source pane shows the cited file with the cited span selected.
        pane = app.source_pane
        assert pane.source == "station.txt"
        assert pane.view.selected_text == DOCS["station.txt"][
            answer.best.citation.start : answer.best.citation.end
        ]
        assert app.query_one("#question").value == ""


async def test_status_line_shows_sources_index_size_and_model(tmp_path):
    app, pipeline, _ = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        status = app.query_one("#status-text").render()
        plain = status.plain if isinstance(status, Text) else str(status)
        stats = pipeline.stats
        assert plain.startswith(app.sources_label)
        assert f"{stats.files} files" in plain and f"{stats.chunks} chunks" in plain
        assert "hashing-bag-of-words" in plain and "ready" in plain


async def test_not_in_the_sources_is_its_own_state_with_closest_passages(tmp_path):
    app, pipeline, _ = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        question = "Who will leave the station?"
        card = await ask(pilot, question)
        answer = pipeline.ask(question)
        text = shown(card)
        assert card.has_class("-abstained") and not card.has_class("-answered")
        assert "not in the sources" in card.border_title
        assert "Not in the sources" in text
        assert answer.reason in text
        first = answer.passages[0]
        line = DOCS[first.source].count("\n", 0, first.start) + 1
        assert f"1. {first.source}:{line}" in text
        # Tab offers the closest passages in the source pane.
        assert app.source_pane.cited.label == "closest passage 1"
        assert app.source_pane.view.selected_text == first.text
        await pilot.press("tab")
        assert app.source_pane.cited.label == "closest passage 2"


async def test_up_and_down_recall_earlier_questions(tmp_path):
    app, _, _ = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "first question")
        await ask(pilot, "second question")
        box = app.query_one("#question")
        await pilot.press(*"draft")
        await pilot.press("up")
        assert box.value == "second question"
        await pilot.press("up")
        assert box.value == "first question"
        await pilot.press("up")
        assert box.value == "first question"  # the oldest stays
        await pilot.press("down")
        assert box.value == "second question"
        await pilot.press("down")
        assert box.value == "draft"  # back to what was being typed
        assert box.cursor_position == len("draft")


async def test_tab_cycles_citations_and_moves_the_source_pane(tmp_path):
    app, pipeline, _ = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, LAUNCH)
        answer = pipeline.ask(LAUNCH)
        pane = app.source_pane
        view = pane.view
        expected = [answer.best.citation, *answer.best.also_in, answer.alternatives[0].citation]
        assert pane.cited.citation == expected[0]
        top_of_best = view.scroll_y
        for citation in expected[1:] + expected[:1]:
            await pilot.press("tab")
            await pilot.pause()
            text = DOCS[citation.source]
            assert pane.source == citation.source
            assert pane.cited.citation == citation
            assert view.selection.start == location_of(text, citation.start)
            assert view.selection.end == location_of(text, citation.end)
            assert view.selected_text == text[citation.start : citation.end]
            row = location_of(text, citation.start)[0]
            # The cited line is on screen.
            y = view.wrapped_document.location_to_offset((row, 0)).y
            assert view.scroll_y <= y < view.scroll_y + view.scrollable_content_region.height
            if citation == expected[2]:
                assert view.scroll_y > top_of_best  # far down the file: the pane scrolled
        await pilot.press("shift+tab")
        assert pane.cited.citation == expected[2]


async def test_export_writes_markdown_with_quote_location_and_sha256(tmp_path):
    app, pipeline, _ = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, LAUNCH)
        await ask(pilot, "Who will leave the station?")
        await pilot.press("ctrl+s")
        await pilot.pause()
        files = list(tmp_path.glob("qa-transcript-*.md"))
        assert len(files) == 1
        markdown = files[0].read_text()
        best = pipeline.ask(LAUNCH).best
        sha = hashlib.sha256(DOCS["station.txt"].encode()).hexdigest()
        assert f"## 1. {LAUNCH}" in markdown
        assert f"**Answer:** {best.text}" in markdown
        assert f"> {best.evidence.text}" in markdown
        assert f"`{best.citation.location()}`" in markdown
        assert f"sha256: `{sha}`" in markdown
        assert "## 2. Who will leave the station?" in markdown
        assert "**Not in the sources.**" in markdown
        assert any(str(files[0]) in n.message for n in app._notifications)


async def test_export_from_the_command_palette(tmp_path):
    app, _, _ = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, LAUNCH)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"export")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert len(list(tmp_path.glob("qa-transcript-*.md"))) == 1


async def test_markup_and_escapes_in_sources_and_questions_are_shown_literally(tmp_path):
    hostile = "[bold]Mallory[/bold] wrote [link=https://evil.example]this[/link] \x1b[31mred\x1b[0m"
    documents = {"evil.txt": f"Intro line.\n{hostile}\n"}
    question = "Who wrote [b]this[/b]?"
    script = {question: Scripted(best=("evil.txt", "[bold]Mallory[/bold]"))}
    app, _, _ = fake_app(tmp_path, documents, script)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        card = await ask(pilot, question)
        rendered = card.body.text()
        assert "Q  Who wrote [b]this[/b]?" in rendered.plain
        assert "A  [bold]Mallory[/bold]" in rendered.plain
        assert literal(hostile) in rendered.plain  # ESC shown as ␛, brackets as typed
        assert "\x1b" not in rendered.plain
        assert not any(getattr(s.style, "link", None) for s in rendered.spans)
        assert "[link=https://evil.example]" in app.source_pane.view.text
        assert "\x1b" not in app.source_pane.view.text
        # What reached the screen: the brackets, not bold or a link.
        screen = app.export_screenshot()
        assert "[bold]Mallory[/bold]" in screen.replace("&#160;", " ")
        assert "evil.example" in screen and "href" not in screen


async def test_an_error_while_answering_is_a_notification(tmp_path):
    app, pipeline, _ = fake_app(tmp_path)
    pipeline.errors["Break it"] = IndexCorruptError("vectors.npy is truncated: run `qa index --rebuild`")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        card = await ask(pilot, "Break it")
        assert errors(app) == ["vectors.npy is truncated: run `qa index --rebuild`"]
        assert card.has_class("-failed")
        card = await ask(pilot, LAUNCH)  # the app carries on
        assert card.has_class("-answered")


async def test_an_unexpected_exception_is_a_notification_not_a_crash(tmp_path):
    app, pipeline, _ = fake_app(tmp_path)
    pipeline.errors["Crash"] = RuntimeError("boom")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await ask(pilot, "Crash")
        assert errors(app) == ["RuntimeError: boom"]
        assert app.is_running


async def test_a_failed_index_build_is_a_notification_and_in_the_status_line(tmp_path):
    app, _, _ = fake_app(tmp_path, error=SourcesError("seeds holds no .txt, .md, .html or .pdf files"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert errors(app) == ["seeds holds no .txt, .md, .html or .pdf files"]
        assert "not ready" in app.query_one("#status-text").render().plain
        card = await ask(pilot, LAUNCH)
        assert "waiting for the index" in shown(card)


async def test_questions_typed_while_the_index_builds_wait_and_are_answered(tmp_path):
    app, pipeline, factory = fake_app(tmp_path, hold=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.query_one("#question").has_focus  # usable at once
        await submit(pilot, LAUNCH)
        await submit(pilot, "Who will leave the station?")
        await pilot.pause()
        cards = list(app.query(AnswerCard))
        assert all("waiting for the index" in shown(c) for c in cards)
        assert pipeline.asked == []
        factory.release()
        await settle(pilot)
        assert cards[0].has_class("-answered") and cards[1].has_class("-abstained")
        assert pipeline.asked == [LAUNCH, "Who will leave the station?"]


async def test_rebuild_from_the_palette_reopens_with_rebuild(tmp_path):
    app, _, factory = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_rebuild_index()
        await settle(pilot)
        assert [call[2] for call in factory.calls] == [False, True]
        assert app.ready


async def test_switch_sources_folder(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    app, _, factory = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_switch_sources()
        await pilot.pause()
        box = app.screen.query_one("#sources-input")
        box.value = str(other)
        await pilot.press("enter")
        await settle(pilot)
        assert factory.calls[-1][0] == other
        assert app.sources == other and app.ready
        app.action_switch_sources()
        await pilot.pause()
        app.screen.query_one("#sources-input").value = str(tmp_path / "missing")
        await pilot.press("enter")
        await pilot.pause()
        assert errors(app) == [f"{tmp_path / 'missing'} is not a folder."]


async def test_one_theme_command_and_help_screen(tmp_path):
    app, _, _ = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert [t for t in titles if "theme" in t.lower()] == ["Theme"]  # Textual's own
        await pilot.press("f1")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("tab")  # Tab is the dialog's own inside the help
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "Screen"


async def test_f2_shows_the_alternatives(tmp_path):
    app, pipeline, _ = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        card = await ask(pilot, LAUNCH)
        assert card._collapsible.collapsed
        await pilot.press("f2")
        await pilot.pause()
        assert not card._collapsible.collapsed
        alternative = pipeline.ask(LAUNCH).alternatives[0]
        assert alternative.citation.location() in str(card._alternatives.render())


async def test_open_in_editor_without_a_terminal_to_hand_over_is_a_notification(tmp_path):
    app, _, _ = fake_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        assert any("No citation" in n.message for n in app._notifications)
        await ask(pilot, LAUNCH)
        await pilot.press("escape")  # focus the source pane, where plain `o` works
        await pilot.press("o")
        await pilot.pause()
        assert any("cannot hand over to an editor" in m for m in errors(app))
        assert app.is_running


def test_editor_command_uses_plus_line():
    path = Path("/tmp/a b.txt")
    assert editor_command(path, 12, {"EDITOR": "nano -w"}) == ["nano", "-w", "+12", str(path)]
    assert editor_command(path, 3, {"VISUAL": "vim", "EDITOR": "nano"})[0] == "vim"
    assert editor_command(path, 3, {}) == ["vi", "+3", str(path)]


def test_importing_the_app_loads_no_model_code():
    code = (
        "import sys; from tui.app import make_app; make_app(); "
        "heavy = [m for m in ('torch', 'sentence_transformers', 'faiss', 'qa.pipeline') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
async def test_real_pipeline_answers_from_a_copy_of_the_seeds(tmp_path):
    seeds = Path(__file__).resolve().parents[1] / "seeds"
    sources = tmp_path / "seeds"
    shutil.copytree(seeds, sources)
    app = make_app(sources=sources, index=tmp_path / "index", export_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(600):  # the model loads and the index builds in a worker
            await pilot.pause(0.1)
            if app.ready or errors(app):
                break
        assert errors(app) == []
        assert app.ready
        card = await ask(pilot, "Which opposition activist was imprisoned?")
        exchange = card.exchange
        assert exchange is not None and card.has_class("-answered")
        best = exchange.answer.best
        document = app.pipeline.document_text(best.citation.source)
        assert document[best.citation.start : best.citation.end] == best.citation.text
        assert best.citation.location() in shown(card)
        assert app.source_pane.view.selected_text == best.citation.text
        sha = hashlib.sha256((sources / best.citation.source).read_bytes()).hexdigest()
        assert exchange.sha256[best.citation.source] == sha
