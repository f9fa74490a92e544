"""From start/end/no-answer logits to the best span of a passage (NumPy, shared by training
and question time)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

MAX_ANSWER_TOKENS = 30  # SQuAD answers are short; longer spans are almost always wrong
# A paragraph break (a blank line). Answers never cross one: SQuAD's paragraphs are single
# lines, so the reader never learnt where a heading ends, and read "2025\n\nRussia will
# withdraw ... in 2025" off a heading and the sentence below it (seeds, 2026-12-05).
PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")  # blank: any white space but a newline (\xa0, \r...)


def paragraph_blocks(text: str, offsets: np.ndarray) -> np.ndarray:
    """Each token's paragraph number in `text` (tokens given by their character offsets)."""
    breaks = np.array([m.start() for m in PARAGRAPH_BREAK.finditer(text)], np.int64)
    return np.searchsorted(breaks, offsets[:, 0], side="right") if len(offsets) else np.zeros(0, np.int64)


@dataclass(frozen=True, slots=True)
class SpanScore:
    start: int  # token index, inclusive
    end: int  # token index, inclusive
    span: float  # start logit + end logit
    no_answer: float  # the passage's two no-answer logits, summed

    @property
    def margin(self) -> float:
        """How much the span beats "no answer" (log-odds-like; > 0 means answer)."""
        return self.span - self.no_answer


def best_spans(
    start: np.ndarray, end: np.ndarray, no_answer: np.ndarray, k: int = 1, blocks: np.ndarray | None = None
) -> list[SpanScore]:
    """The k best (start <= end < start + MAX_ANSWER_TOKENS) spans of one passage;
    `blocks`: each token's paragraph number, when spans must stay inside one paragraph."""
    n = len(start)
    if n == 0:
        return []
    grid = start[:, None] + end[None, :]
    i, j = np.indices((n, n))
    allowed = (j >= i) & (j - i < MAX_ANSWER_TOKENS)
    if blocks is not None:
        allowed &= blocks[:, None] == blocks[None, :]
    grid = np.where(allowed, grid, -np.inf)
    flat = grid.ravel()
    k = min(k, n * n)
    top = np.argpartition(-flat, k - 1)[:k]
    top = top[np.argsort(-flat[top])]
    null = float(no_answer[0] + no_answer[1])
    return [SpanScore(int(t // n), int(t % n), float(flat[t]), null) for t in top if np.isfinite(flat[t])]
