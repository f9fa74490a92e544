"""Why a question was missed: retrieval, extraction or abstention.

A miss is a question that is not `correct` (see `QuestionResult.correct`). The stage to
blame is the first that went wrong, so a person knows where to look:

- abstention: it abstained on an answerable question, or answered an unanswerable one;
- retrieval: no returned passage holds a gold answer (by offsets, else by text);
- extraction: a passage holding the gold was retrieved, but the answer missed it:
  "wrong span" when the evidence sentence holds the gold, else "wrong sentence".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from qa.evaluation.metrics import QuestionResult

STAGES = ("retrieval", "extraction", "abstention")


@dataclass(frozen=True, slots=True)
class Miss:
    result: QuestionResult
    stage: str  # one of STAGES
    detail: str


def classify(r: QuestionResult) -> Miss | None:
    if r.correct:
        return None
    if not r.answerable:
        return Miss(r, "abstention", "answered an unanswerable question")
    if r.abstained:
        if r.gold_retrieved is False:
            detail = "abstained; the gold was not retrieved either"
        else:
            detail = "abstained on an answerable question"
        return Miss(r, "abstention", detail)
    if not r.gold_retrieved:
        return Miss(r, "retrieval", "gold not in the returned passages")
    if r.evidence_hit:
        return Miss(r, "extraction", "right sentence, wrong span")
    return Miss(r, "extraction", "gold passage retrieved, wrong sentence")


def triage(results: Sequence[QuestionResult]) -> tuple[Miss, ...]:
    """Every miss, in question order."""
    return tuple(m for m in map(classify, results) if m is not None)


def stage_counts(misses: Sequence[Miss]) -> dict[str, int]:
    counts = Counter(m.stage for m in misses)
    return {stage: counts.get(stage, 0) for stage in STAGES}
