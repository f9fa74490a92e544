"""The `qa` command: a thin layer over `qa.pipeline`.

Each sub-command lives in its own module and registers itself on `app`. Core errors
(`qa.errors.QAError`) become one line on stderr and exit code 1 here, and only here; a
usage mistake (unknown command or option, missing or bad argument) one line and exit 2.
Heavy imports happen inside commands, so `qa --help` stays instant.
"""

from __future__ import annotations

import sys

import typer
from typer.core import TyperGroup

from qa import __version__
from qa.cli.logs import configure_logging
from qa.errors import QAError


class _Group(TyperGroup):
    """`qa --help` lists each command's whole first sentence, wrapped to the terminal,
    where Click would cut it with "..." to fit one line."""

    def format_commands(self, ctx, formatter) -> None:
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        rows = [(name, cmd.get_short_help_str(limit=1_000)) for name, cmd in commands if cmd and not cmd.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(
    name="qa",
    cls=_Group,
    help="Ask questions about a folder of documents; answers are verbatim quotes with "
    "citations. With no command, opens the terminal UI (ctrl+q quits, F1 lists the keys).",
    add_completion=False,
    invoke_without_command=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        print(f"qa {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the library does."),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """With no command, open the terminal UI on seeds/ (ctrl+q quits)."""
    configure_logging(verbose)
    if ctx.invoked_subcommand is None:
        from qa.cli.tui_cmd import exit_at_once, run_tui

        exit_at_once(run_tui(sources=None, index=None))


# `--reader` of ask, eval, tui and serve.
READER_HELP = (
    "Who answers: `shipped` (the trained reader in the package) or a folder written by `qa train-reader`."
)

# Registration by import: each module adds its command(s) to `app`.
from qa.cli import index_cmd, ask_cmd, eval_cmd, tui_cmd, train_cmd  # noqa: E402,F401


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error and exit non-zero (for commands that check input themselves)."""
    from qa.literal import literal  # messages can quote file names, which can hold escapes

    print(f"qa: error: {literal(message, keep_newlines=False)}", file=sys.stderr)
    raise SystemExit(code)


def _printable(text: str) -> str:
    """`text` with control characters escaped: it may echo what was typed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def usage_error(exc: typer.TyperException) -> str:
    """One line for a usage mistake: what Click found wrong, and where the help is.

    typer (0.29+) raises its own copies of Click's exceptions, all `TyperException`s;
    `UsageError` and its subclasses carry the context of the command that was parsed.
    """
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "qa"
    message = _printable(exc.format_message()).rstrip(".")
    return f"qa: error: {message} (see `{command} --help`)"


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, prog_name="qa", standalone_mode=False)
    except QAError as exc:
        fail(str(exc))
    except (typer.Abort, KeyboardInterrupt):
        print("qa: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.TyperException as exc:  # Click's ClickException, UsageError and the like
        print(usage_error(exc), file=sys.stderr)
        raise SystemExit(exc.exit_code) from None
