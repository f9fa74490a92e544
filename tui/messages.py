"""Messages the workers post to the app (posting them is thread-safe)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from qa.types import Progress
from tui.exchange import Exchange


@dataclass
class PipelineProgress(Message):
    """The index build moved on."""

    generation: int  # which opening this belongs to (older ones are ignored)
    progress: Progress


@dataclass
class PipelineReady(Message):
    """The pipeline is open: questions can be answered."""

    generation: int
    pipeline: object


@dataclass
class PipelineFailed(Message):
    """Opening the pipeline failed; `error` says why and what to do."""

    generation: int
    error: str


@dataclass
class AnswerReady(Message):
    card_id: str
    exchange: Exchange


@dataclass
class AskFailed(Message):
    card_id: str
    error: str
