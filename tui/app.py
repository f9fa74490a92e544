"""The `qa` terminal UI: ask questions, read verbatim answers, check them in the source.

The app owns the pipeline and talks to it only from thread workers: one opens (builds or
updates) the index at start-up, reporting progress; one answers each question in turn.
Questions typed before the index is ready wait in a queue. Widgets only display values.
"""

from __future__ import annotations

import io
import logging
import functools
import os
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from textual import work
from textual.actions import SkipAction
from textual.app import App, ComposeResult, SuspendNotSupported, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input

from qa.config import DEFAULT_SOURCES, SHIPPED_READER, default_transcripts
from qa.errors import QAError
from qa.types import Progress
from tui.editor import editor_command
from tui.exchange import Cited, Exchange, build_exchange
from tui.opening import open_target
from tui.messages import AnswerReady, AskFailed, PipelineFailed, PipelineProgress, PipelineReady
from tui.screens.help import HelpScreen
from tui.screens.sources import SourcesScreen
from tui.transcript import transcript_markdown, transcript_name, write_transcript
from tui.widgets.conversation import Conversation
from tui.widgets.question_input import QuestionInput
from tui.widgets.source_pane import SourcePane
from tui.widgets.status_line import StatusLine

log = logging.getLogger(__name__)

# (sources, index, rebuild, progress callback) -> an object with Pipeline's surface.
PipelineFactory = Callable[[Path | None, Path | None, bool, Callable[[Progress], None]], object]

# Actions that act on the main screen only; elsewhere their keys keep their usual meaning.
MAIN_SCREEN_ACTIONS = frozenset(
    {"next_citation", "previous_citation", "open_in_editor", "toggle_alternatives", "switch_focus"}
)


def open_pipeline(sources, index, rebuild, progress, reader: str = SHIPPED_READER):
    """The real pipeline (imported here, in the worker, so the UI appears at once);
    `reader` says who answers (`qa tui --reader`: shipped or a folder)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is bundled: never download
    from qa.pipeline import Pipeline

    return Pipeline.open(index, sources=sources, rebuild=rebuild, progress=progress, reader=reader)


class _Quitting(Exception):
    """Raised from the build's progress callback once the app is quitting: it ends the
    build (its unfinished generation is removed) so the worker thread, which Python waits
    for at exit, does not keep the process alive after ctrl+q."""


class QAApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "qa"
    SUB_TITLE = "answers quoted from your sources"
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("tab", "next_citation", "Next citation", priority=True),
        Binding("shift+tab", "previous_citation", "Prev citation", show=False, priority=True),
        Binding("ctrl+o", "open_in_editor", "Open in $EDITOR"),
        Binding("o", "open_in_editor", "Open in $EDITOR", show=False),
        Binding("f2", "toggle_alternatives", "Alternatives"),
        Binding("ctrl+s", "export_transcript", "Export"),
        Binding("escape", "switch_focus", "Source pane", show=False),
    ]

    def __init__(
        self,
        sources: Path | None,
        index: Path | None,
        pipeline_factory: PipelineFactory,
        export_dir: Path | None = None,
        served: bool = False,
    ) -> None:
        super().__init__()
        # Served (`qa serve`): whoever holds the browser is not the person at this machine,
        # so the app stays on its folder and writes nothing outside its index.
        self.served = served
        self.sources = sources
        self.index = index
        self.pipeline_factory = pipeline_factory
        self.export_dir = export_dir or default_transcripts()
        self.pipeline = None
        self.ready = False
        self.loading = False
        self.exchanges: list[Exchange] = []
        self._generation = 0  # which open() the pipeline messages belong to
        self._queue: deque[tuple[str, str]] = deque()  # (card id, question) waiting
        self._asking = False
        self._citations: tuple[Cited, ...] = ()
        self._citation_at = -1
        self._citing: Exchange | None = None
        self._quitting = threading.Event()  # read by the build worker's thread
        self._scratch: Path | None = None  # a private temp folder for PDFs' text (ctrl+o)

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="chat"):
                yield Conversation(id="conversation")
                yield QuestionInput(id="question")
            yield SourcePane(id="source")
        yield StatusLine(id="status")
        yield Footer()

    @property
    def sources_label(self) -> str:
        return str(self.sources if self.sources is not None else DEFAULT_SOURCES)

    @property
    def conversation(self) -> Conversation:
        return self.query_one(Conversation)

    @property
    def source_pane(self) -> SourcePane:
        return self.query_one(SourcePane)

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    def on_mount(self) -> None:
        self.query_one(QuestionInput).focus()
        self._open(rebuild=False)

    def exit(self, *args, **kwargs) -> None:
        self._quitting.set()  # a build still running stops at its next progress event
        super().exit(*args, **kwargs)

    # -- opening the pipeline ----------------------------------------------------------

    def _open(self, rebuild: bool) -> None:
        self._generation += 1
        self.ready = False
        self.loading = True
        self.pipeline = None
        self.status.show_loading(self.sources_label)
        self._open_pipeline(self._generation, self.sources, self.index, rebuild)

    @work(thread=True, group="open", exit_on_error=False)
    def _open_pipeline(self, generation: int, sources, index, rebuild: bool) -> None:
        def progress(event: Progress) -> None:
            if self._quitting.is_set():
                raise _Quitting()
            self.post_message(PipelineProgress(generation, event))

        try:
            pipeline = self.pipeline_factory(sources, index, rebuild, progress)
        except _Quitting:
            return
        except QAError as exc:
            self.post_message(PipelineFailed(generation, str(exc)))
        except Exception as exc:  # a bug or an environment problem: report, don't crash
            log.exception("opening the pipeline failed")
            self.post_message(PipelineFailed(generation, f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(PipelineReady(generation, pipeline))

    def on_pipeline_progress(self, message: PipelineProgress) -> None:
        if message.generation == self._generation:
            self.status.show_progress(self.sources_label, message.progress)

    def on_pipeline_ready(self, message: PipelineReady) -> None:
        if message.generation != self._generation:
            return
        self.loading = False
        try:
            stats = message.pipeline.stats
        except QAError as exc:
            self._pipeline_failed(str(exc))
            return
        self.pipeline = message.pipeline
        self.ready = True
        self.status.show_ready(self.sources_label, stats)
        for card_id, _question in self._queue:
            if card := self.conversation.card(card_id):
                card.set_waiting("its turn")
        self._drain()

    def on_pipeline_failed(self, message: PipelineFailed) -> None:
        if message.generation == self._generation:
            self.loading = False
            self._pipeline_failed(message.error)

    def _pipeline_failed(self, error: str) -> None:
        self.status.show_error(self.sources_label, error)
        self.notify(error, title="The index is not ready", severity="error", markup=False)
        for card_id, _question in self._queue:
            if card := self.conversation.card(card_id):
                card.set_waiting("the index (rebuild or switch sources from ctrl+p)")

    # -- asking ------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "question":
            return
        event.stop()
        question_input = self.query_one(QuestionInput)
        question = event.value
        if not question.strip():
            self.notify("Type a question first.", severity="warning")
            return
        from qa.pipeline import check_question  # here: the app starts without the pipeline

        try:
            check_question(question)  # too long: say so without echoing it into the chat
        except QAError as exc:
            self.notify(str(exc), title="Not asked", severity="error", markup=False)
            return
        question_input.value = ""
        question_input.remember(question)
        card = self.conversation.add_question(question)
        self._queue.append((card.id or "", question))
        if not self.ready:
            card.set_waiting("the index")
        elif self._asking:
            card.set_waiting("its turn")
        self._drain()

    def _drain(self) -> None:
        """Ask the next queued question, one at a time, once the pipeline is ready."""
        if not self.ready or self._asking or not self._queue:
            return
        card_id, question = self._queue.popleft()
        card = self.conversation.card(card_id)
        if card is None:
            self._drain()
            return
        card.set_waiting("the answer")
        self._asking = True
        self._ask(self.pipeline, card_id, card.number, question)

    @work(thread=True, group="ask", exit_on_error=False)
    def _ask(self, pipeline, card_id: str, number: int, question: str) -> None:
        try:
            answer = pipeline.ask(question)
            exchange = build_exchange(number, answer, pipeline)
        except QAError as exc:
            self.post_message(AskFailed(card_id, str(exc)))
        except Exception as exc:  # a bug: report it and keep the app running
            log.exception("answering %r failed", question)
            self.post_message(AskFailed(card_id, f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(AnswerReady(card_id, exchange))

    def on_answer_ready(self, message: AnswerReady) -> None:
        self._asking = False
        card = self.conversation.card(message.card_id)
        if card is not None:
            card.set_exchange(message.exchange)
            self.conversation.call_after_refresh(self.conversation.scroll_end, animate=False)
        self.exchanges.append(message.exchange)
        self._cite(message.exchange)
        self._drain()

    def on_ask_failed(self, message: AskFailed) -> None:
        self._asking = False
        if card := self.conversation.card(message.card_id):
            card.set_error(message.error)
        self.notify(message.error, title="Could not answer", severity="error", markup=False)
        self._drain()

    # -- citations ---------------------------------------------------------------------

    def _cite(self, exchange: Exchange) -> None:
        """Make `exchange`'s citations the ones Tab cycles through, showing the first."""
        self._citing = exchange
        self._citations = exchange.citations()
        self._citation_at = -1
        if self._citations:
            self._show_citation(0)

    def _show_citation(self, at: int) -> None:
        assert self._citing is not None
        self._citation_at = at % len(self._citations)
        cited = self._citations[self._citation_at]
        text = self._citing.texts.get(cited.citation.source)
        if text is None:
            self.notify(f"{cited.citation.source} is not loaded", severity="error", markup=False)
            return
        self.source_pane.show(cited, text, self._citation_at + 1, len(self._citations))

    def action_next_citation(self) -> None:
        if not self._citations:
            raise SkipAction()  # nothing to cycle: Tab moves the focus as usual
        self._show_citation(self._citation_at + 1)

    def action_previous_citation(self) -> None:
        if not self._citations:
            raise SkipAction()
        self._show_citation(self._citation_at - 1)

    def action_open_in_editor(self) -> None:
        cited = self.source_pane.cited
        if cited is None or self.pipeline is None:
            self.notify("No citation to open yet: ask a question first.", severity="warning")
            return
        citation = cited.citation
        text = self._citing.texts.get(citation.source, "") if self._citing else ""
        try:
            if self._scratch is None:
                self._scratch = Path(tempfile.mkdtemp(prefix="qa-extracted-text-"))
            target = open_target(citation, self.pipeline.source_path(citation.source), text, self._scratch)
        except OSError as exc:
            self.notify(f"Could not prepare {citation.source} for the editor: {exc}", severity="error", markup=False)
            return
        path = target.path
        command = editor_command(path, target.line, os.environ)
        try:
            with self.suspend():
                result = subprocess.run(command, check=False)
        except SuspendNotSupported:
            self.notify(
                f"This terminal cannot hand over to an editor: open {path} at line "
                f"{target.line} yourself.",
                severity="error",
                markup=False,
            )
            return
        except OSError as exc:
            self.notify(f"Could not run {command[0]}: {exc}", severity="error", markup=False)
            return
        if result.returncode != 0:
            self.notify(
                f"{command[0]} exited with status {result.returncode}",
                severity="warning",
                markup=False,
            )
        elif target.note:
            self.notify(target.note, markup=False)

    def action_toggle_alternatives(self) -> None:
        card = self.conversation.latest_answered()
        if card is None or not card.toggle_alternatives():
            self.notify("The latest answer has no alternatives.")

    def action_switch_focus(self) -> None:
        question_input = self.query_one(QuestionInput)
        if question_input.has_focus:
            self.source_pane.view.focus()
        else:
            question_input.focus()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MAIN_SCREEN_ACTIONS and len(self.screen_stack) > 1:
            return False
        return True

    # -- commands (ctrl+p) -------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "Rebuild index",
            "Re-read and re-embed every file of the sources folder",
            self.action_rebuild_index,
        )
        if not self.served:
            yield SystemCommand(
                "Switch sources folder",
                "Answer from another folder of documents (indexed if needed)",
                self.action_switch_sources,
            )
        yield SystemCommand(
            "Export transcript",
            "Save the conversation as Markdown, with file:line and sha256 of each quote",
            self.action_export_transcript,
        )
        yield from super().get_system_commands(screen)

    def action_rebuild_index(self) -> None:
        if self.loading:
            self.notify("The index is being built already.", severity="warning")
            return
        if self._asking:
            self.notify("Wait for the answer, then rebuild.", severity="warning")
            return
        self._open(rebuild=True)

    def action_switch_sources(self) -> None:
        if self.served:
            self.notify(
                f"qa serve answers from {self.sources_label} only: restart it with"
                " --sources DIR to use another folder.",
                severity="warning",
                markup=False,
            )
            return
        if self.loading:
            self.notify("Wait until the index is ready, then switch.", severity="warning")
            return
        self.push_screen(SourcesScreen(self.sources_label), callback=self._switch_to)

    def _switch_to(self, folder: Path | None) -> None:
        if folder is None:
            return
        if not folder.is_dir():
            self.notify(f"{folder} is not a folder.", severity="error", markup=False)
            return
        self.sources = folder
        self.index = None  # the default index of the new folder
        self._open(rebuild=False)

    def action_export_transcript(self) -> None:
        if not self.exchanges:
            self.notify("Nothing to export yet: ask a question first.", severity="warning")
            return
        if self.served:  # to the browser as a download, never a file on the server
            now = datetime.now()
            markdown = transcript_markdown(self.exchanges, self.sources_label, now)
            self.deliver_text(io.StringIO(markdown), save_filename=transcript_name(now))
            self.notify("Transcript sent to your browser's downloads.", title="Exported")
            return
        try:
            path = write_transcript(self.exchanges, self.sources_label, self.export_dir)
        except OSError as exc:
            self.notify(f"Could not write the transcript: {exc}", severity="error", markup=False)
            return
        self.notify(f"Transcript saved to {path}", title="Exported", markup=False)


def make_app(
    sources: Path | str | None = None,
    index: Path | str | None = None,
    pipeline_factory: PipelineFactory | None = None,
    export_dir: Path | None = None,
    served: bool = False,
    reader: str = SHIPPED_READER,
) -> QAApp:
    """The app, used by `qa`, `qa tui`, `qa serve` and the tests (which pass a fake factory)."""
    return QAApp(
        sources=Path(sources) if sources is not None else None,
        index=Path(index) if index is not None else None,
        pipeline_factory=pipeline_factory or functools.partial(open_pipeline, reader=reader),
        export_dir=export_dir,
        served=served,
    )
