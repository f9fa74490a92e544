"""The `qa` command: a thin layer over `qa.pipeline`.

Each sub-command lives in its own module and registers itself on `app`. Core errors
(`qa.errors.QAError`) become one line on stderr and exit code 1 here, and only here.
Heavy imports happen inside commands, so `qa --help` stays instant.
"""

from __future__ import annotations

import logging
import sys

import click
import typer

from qa.errors import QAError

app = typer.Typer(
    name="qa",
    help="Ask questions about a folder of documents; answers are verbatim quotes with citations.",
    add_completion=False,
    invoke_without_command=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the library does."),
) -> None:
    """With no command, open the terminal UI on seeds/."""
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # The level goes on the handler too: a library may set its own logger's level when it
    # is imported (bm25s sets DEBUG), later than this, and its records would then reach
    # the terminal, over the TUI's screen during a first build.
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)
    if ctx.invoked_subcommand is None:
        from qa.cli.tui_cmd import run_tui

        run_tui(sources=None, index=None)


# Registration by import: each module adds its command(s) to `app`.
from qa.cli import index_cmd, ask_cmd, eval_cmd, tui_cmd  # noqa: E402,F401


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error and exit non-zero (for commands that check input themselves)."""
    from qa.literal import literal  # messages can quote file names, which can hold escapes

    print(f"qa: error: {literal(message, keep_newlines=False)}", file=sys.stderr)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, standalone_mode=False)
    except QAError as exc:
        fail(str(exc))
    except click.exceptions.Abort:
        print("qa: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        print("qa: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
