"""Typed errors of the core. Each message says what happened and what to do about it;
only the CLI and the TUI turn them into user-facing text and exit codes."""

from __future__ import annotations


class QAError(Exception):
    """Base of every error `qa` raises on purpose."""


class SourcesError(QAError):
    """The sources folder is missing, empty, or holds nothing that can be indexed."""


class IndexMissingError(QAError):
    """There is no index where one was expected."""


class IndexIncompatibleError(QAError):
    """The saved index was built with another model, dimension, format or chunking."""


class IndexCorruptError(QAError):
    """A saved index file is missing, truncated or does not match its manifest."""


class IndexLockedError(QAError):
    """Another process is writing this index (and did not finish within the wait)."""


class IndexBusyError(QAError):
    """Writers replaced the index again and again while it was being read."""


class ConfigError(QAError):
    """An index's `config.json` cannot be read or has a bad setting."""


class QuestionError(QAError):
    """The question cannot be asked (empty, or longer than the limit)."""


class EvaluationInputError(QAError):
    """A questions file cannot be read at all (a bad row is reported and skipped instead)."""


class ModelUnavailableError(QAError):
    """The bundled embedding model cannot be found or loaded."""
