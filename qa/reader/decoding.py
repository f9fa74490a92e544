"""From start/end/no-answer logits to the best span of a passage (NumPy, shared by training
and question time)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_ANSWER_TOKENS = 30  # SQuAD answers are short; longer spans are almost always wrong


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


def best_spans(start: np.ndarray, end: np.ndarray, no_answer: np.ndarray, k: int = 1) -> list[SpanScore]:
    """The k best (start <= end < start + MAX_ANSWER_TOKENS) spans of one passage."""
    n = len(start)
    if n == 0:
        return []
    grid = start[:, None] + end[None, :]
    i, j = np.indices((n, n))
    grid = np.where((j >= i) & (j - i < MAX_ANSWER_TOKENS), grid, -np.inf)
    flat = grid.ravel()
    k = min(k, n * n)
    top = np.argpartition(-flat, k - 1)[:k]
    top = top[np.argsort(-flat[top])]
    null = float(no_answer[0] + no_answer[1])
    return [SpanScore(int(t // n), int(t % n), float(flat[t]), null) for t in top if np.isfinite(flat[t])]
