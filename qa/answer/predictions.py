"""An `Answer` as one line of the predictions format (shared/bench/README.md).

Used by `qa ask --json` and `qa eval --predictions`, so both always write the same shape.
Keys are written in a fixed order and floats rounded, so files are byte-stable across runs
(latency excepted, which is measured). Beyond that format: `confidence`, `reason` when
abstaining, and `read`, how many of `passages` (from the first) the answerer read.
"""

from __future__ import annotations

import json
from typing import Any

from qa.types import Answer, Citation, Passage


def _span(c: Citation) -> dict[str, Any]:
    return {"source": c.source, "start": c.start, "end": c.end}


def _citation(c: Citation) -> dict[str, Any]:
    out = {**_span(c), "line_start": c.line_start, "line_end": c.line_end}
    if c.page is not None:
        out["page"] = c.page
    return out


def _passage(p: Passage) -> dict[str, Any]:
    return {"source": p.source, "start": p.start, "end": p.end, "score": round(p.score, 4)}


def to_prediction(answer: Answer, qid: str | None = None) -> dict[str, Any]:
    best = answer.best
    citations = [best.citation, *best.also_in] if best else []
    out: dict[str, Any] = {}
    if qid is not None:
        out["id"] = qid
    out["question"] = answer.question
    out["answer"] = answer.text
    out["citations"] = [_citation(c) for c in citations]
    out["evidence"] = _span(best.evidence) if best else None
    out["passages"] = [_passage(p) for p in answer.passages]
    out["confidence"] = round(answer.confidence, 4)
    if answer.reason:
        out["reason"] = answer.reason
    out["read"] = answer.read  # the first `read` of `passages` were read (null: not known)
    out["latency_ms"] = round(answer.latency_ms, 1)
    return out


def dumps_prediction(answer: Answer, qid: str | None = None) -> str:
    return json.dumps(to_prediction(answer, qid), ensure_ascii=False)
