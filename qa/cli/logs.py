"""Where log records go when `qa` runs as a command: the CLI configures logging, the
library only logs (qa/*.py use `logging.getLogger(__name__)`).

Without `-v` only `qa`'s own warnings reach the terminal: a library's warning (pypdf's
"fontTools is required ..." on some PDFs, ~900 characters each) is about its own
internals, not something the person can act on, and over the terminal UI it garbles the
screen. With `-v` every record from INFO up is shown.
"""

from __future__ import annotations

import logging
import sys

OWN_LOGGERS = ("qa", "tui")
FORMAT = "%(levelname)s %(name)s: %(message)s"


class _OwnRecords(logging.Filter):
    """Passes the records of qa's own loggers, drops every library's."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.split(".", 1)[0] in OWN_LOGGERS


class _CurrentStderr(logging.StreamHandler):
    """A handler that writes to whatever `sys.stderr` is when a record comes.

    Inside the terminal UI, Textual replaces `sys.stderr` with its own capture, so a
    record logged then (from any thread) never prints over the screen; a plain
    StreamHandler would keep the terminal it was given at start-up.
    """

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass  # always the current sys.stderr


class _LiteralFormatter(logging.Formatter):
    """Log lines with control characters made visible: a record can carry a file name or a
    library's message about a document, and neither may drive the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        from qa.literal import literal

        return literal(super().format(record))


_handler: logging.Handler | None = None


def configure_logging(verbose: bool) -> logging.Handler:
    """Route log records to stderr: qa's warnings, or with `verbose` everything from INFO.

    Calling it again (tests run several commands in one process) reconfigures the same
    handler rather than adding another.
    """
    global _handler
    level = logging.INFO if verbose else logging.WARNING
    root = logging.getLogger()
    if _handler is None:
        _handler = _CurrentStderr()
        _handler.setFormatter(_LiteralFormatter(FORMAT))
        root.addHandler(_handler)
    # The level goes on the handler, not only on the root logger: a library may set its
    # own logger's level when it is imported (bm25s sets DEBUG), later than this.
    _handler.setLevel(level)
    for existing in list(_handler.filters):
        _handler.removeFilter(existing)
    if not verbose:
        _handler.addFilter(_OwnRecords())
    root.setLevel(level)
    return _handler
