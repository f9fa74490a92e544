"""`qa tui` (also `qa` with no command) and `qa serve`: the terminal UI, in a terminal or
in a browser. Textual is imported only when one of them runs, so `qa --help` stays fast."""

from __future__ import annotations

import os
import shlex
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import typer

from qa.cli import READER_HELP, app
from qa.config import SHIPPED_READER

SOURCES_HELP = "Folder of documents to answer from (default: seeds/)."
INDEX_HELP = "Index folder (default: indexes/<name of the sources folder>)."


def _check_sources(sources: Path | None) -> None:
    if sources is not None and not sources.is_dir():
        from qa.cli import fail  # defined after the command modules are imported

        fail(f"{sources} is not a folder: pass --sources with a folder of documents")


def run_tui(sources: Path | None, index: Path | None, served: bool = False, reader: str = SHIPPED_READER) -> int:
    """Run the app in this terminal (or for `qa serve`) until the user quits; its exit code.

    Callers end the process with `exit_at_once`: the pipeline's worker thread (loading the
    model, building the index) cannot be interrupted, and Python would wait for it.
    """
    from qa.pipeline import check_reader
    from tui.app import make_app

    check_reader(reader)  # a one-line error in the terminal, before the UI takes it
    app = make_app(sources=sources, index=index, served=served, reader=reader)
    in_browser = "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")  # set by textual-serve
    if in_browser:
        _exit_when_orphaned(app)
    app.run()
    return app.return_code or 0


def exit_at_once(code: int) -> None:
    """End the process as soon as the UI has quit and given the terminal back.

    A normal interpreter exit first waits for a worker still building the index, then
    tears down torch and the model: ctrl+q gave the screen back at once but the process
    lived on for 2-3 s on a busy 2-core machine. Nothing is left to save by then: a build
    publishes its generation atomically (the next build removes an unfinished one), the
    writer lock is an flock the OS releases, and transcripts are written when exported.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _exit_when_orphaned(
    app, every: float = 1.0, grace: float = 3.0, force_exit: Callable[[int], None] = exit_at_once
) -> threading.Thread:
    """Quit `app` once its parent, the `qa serve` process, is gone.

    Textual's web driver does not exit when its input ends, so an app whose server was
    killed would stay alive, holding the model (~540 MB), until killed by hand. A server
    that stops gracefully ends its apps; this covers the one that could not. An app that
    does not quit within `grace` seconds (its loop busy or blocked on a dead pipe) is
    ended all the same.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        app.call_later(app.exit)  # thread-safe enough: posts to the app's queue, never blocks
        time.sleep(grace)
        force_exit(1)

    thread = threading.Thread(target=watch, name="qa-orphan-watch", daemon=True)
    thread.start()
    return thread


@app.command()
def tui(
    sources: Path | None = typer.Option(None, "--sources", help=SOURCES_HELP),
    index: Path | None = typer.Option(None, "--index", help=INDEX_HELP),
    served: bool = typer.Option(False, "--served", hidden=True, help="Run for `qa serve`."),
    reader: str = typer.Option(SHIPPED_READER, "--reader", help=READER_HELP),
) -> None:
    """Open the terminal UI: ask questions, read quoted answers and check their sources."""
    _check_sources(sources)
    exit_at_once(run_tui(sources=sources, index=index, served=served, reader=reader))


def serve_command(sources: Path, index: Path | None, reader: str = SHIPPED_READER) -> str:
    """The shell command textual-serve runs for each browser session: `qa tui --served ...`.

    `exec` replaces the shell, so the app's parent is the server itself: the server's
    signals reach the app, and the app can tell when the server is gone (see
    `_exit_when_orphaned`). `--served` keeps the app on `sources` and its index.
    """
    argv = [sys.executable, "-m", "qa", "tui", "--served", "--sources", str(sources.resolve())]
    if index is not None:
        argv += ["--index", str(index.resolve())]
    if reader != SHIPPED_READER:  # a folder is named absolutely: the app may run elsewhere
        argv += ["--reader", str(Path(reader).resolve())]
    return "exec " + shlex.join(argv)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (keep it local)."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    sources: Path | None = typer.Option(None, "--sources", help=SOURCES_HELP),
    index: Path | None = typer.Option(None, "--index", help=INDEX_HELP),
    max_sessions: int = typer.Option(
        6, "--max-sessions", min=1, help="Browser sessions open at once (each holds the model, ~550 MB)."
    ),
    reader: str = typer.Option(SHIPPED_READER, "--reader", help=READER_HELP),
) -> None:
    """Show the terminal UI in a web browser (textual-serve), at the URL it prints.

    The URL carries a secret made for this run: only a browser that opens it can start
    a session. Every session answers from SOURCES only.
    """
    _check_sources(sources)
    from qa.cli import fail
    from qa.config import DEFAULT_SOURCES
    from qa.pipeline import check_reader
    from tui.server import QAServer, is_loopback

    check_reader(reader)  # before the server starts, not in every browser session

    server = QAServer(
        serve_command(sources or Path(DEFAULT_SOURCES), index, reader),
        host=host, port=port, max_sessions=max_sessions,
    )
    if not is_loopback(host):
        print(
            f"qa: WARNING: --host {host} makes the UI, and the documents it answers from,"
            " reachable from other machines; anyone who learns the URL below can use it."
            " Use --host 127.0.0.1 unless you mean that.",
            file=sys.stderr,
        )
    print(f"qa: serving the terminal UI at {server.url} (ctrl+c stops)", file=sys.stderr, flush=True)
    try:
        server.serve()
    except OSError as exc:
        fail(f"cannot listen on {host}:{port} ({exc.strerror or exc}): pass another --port or --host")
