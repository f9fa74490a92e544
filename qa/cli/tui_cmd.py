"""`qa tui` (also `qa` with no command) and `qa serve`: the terminal UI, in a terminal or
in a browser. Textual is imported only when one of them runs, so `qa --help` stays fast."""

from __future__ import annotations

import os
import shlex
import sys
import threading
import time
from pathlib import Path

import typer

from qa.cli import app

SOURCES_HELP = "Folder of documents to answer from (default: seeds/)."
INDEX_HELP = "Index folder (default: indexes/<name of the sources folder>)."


def _check_sources(sources: Path | None) -> None:
    if sources is not None and not sources.is_dir():
        from qa.cli import fail  # defined after the command modules are imported

        fail(f"{sources} is not a folder: pass --sources with a folder of documents")


def run_tui(sources: Path | None, index: Path | None) -> int:
    """Run the app in this terminal (or for `qa serve`) until the user quits; its exit code."""
    from tui.app import make_app

    app = make_app(sources=sources, index=index)
    if "web_driver" in os.environ.get("TEXTUAL_DRIVER", ""):  # set by textual-serve
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


def _exit_when_orphaned(app, every: float = 1.0) -> threading.Thread:
    """Quit `app` once its parent, the `qa serve` process, is gone.

    Textual's web driver does not exit when its input ends, so an app whose server was
    killed would stay alive, holding the model (~540 MB), until killed by hand. A server
    that stops gracefully tells its apps to quit; this covers the one that could not.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        app.call_from_thread(app.exit)

    thread = threading.Thread(target=watch, name="qa-orphan-watch", daemon=True)
    thread.start()
    return thread


@app.command()
def tui(
    sources: Path | None = typer.Option(None, "--sources", help=SOURCES_HELP),
    index: Path | None = typer.Option(None, "--index", help=INDEX_HELP),
) -> None:
    """Open the terminal UI: ask questions, read quoted answers and check their sources."""
    _check_sources(sources)
    exit_at_once(run_tui(sources=sources, index=index))


def serve_command(sources: Path | None, index: Path | None) -> str:
    """The shell command textual-serve runs for each browser session: `qa tui ...`.

    `exec` replaces the shell, so the app's parent is the server itself and the app can
    tell when the server is gone (see `_exit_when_orphaned`).
    """
    argv = [sys.executable, "-m", "qa", "tui"]
    if sources is not None:
        argv += ["--sources", str(sources.resolve())]
    if index is not None:
        argv += ["--index", str(index.resolve())]
    return "exec " + shlex.join(argv)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (keep it local)."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    sources: Path | None = typer.Option(None, "--sources", help=SOURCES_HELP),
    index: Path | None = typer.Option(None, "--index", help=INDEX_HELP),
) -> None:
    """Show the terminal UI in a web browser (textual-serve), at http://HOST:PORT."""
    _check_sources(sources)
    from textual_serve.server import Server

    print(f"qa: serving the terminal UI at http://{host}:{port} (ctrl+c stops)", file=sys.stderr)
    Server(serve_command(sources, index), host=host, port=port, title="qa").serve()
