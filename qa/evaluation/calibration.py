"""The abstention trade-off as the confidence threshold moves, and the chosen threshold.

The curve is computed from answers asked with the threshold switched off (every question
gets its best candidate and a confidence), so a threshold `t` means: answer when
`confidence >= t`, else abstain. The curve has one point per distinct confidence `c` (the
outcome for every threshold in `(previous c, c]`) and one above the highest. A chosen
threshold sits halfway between two confidences, so it does not matter whether the
pipeline compares with `<` or `<=`.

Objective (`choose_threshold`):
- With unanswerable questions in the file: maximise the share of questions handled
  correctly (an answerable one answered with an answer containing a gold text, an
  unanswerable one abstained on); ties go to the lower threshold, which answers more.
- With none: the file cannot show how much abstention is needed, so the configured
  threshold is kept unless it throws away correct answers; then it is lowered to just
  below the lowest-confidence correct answer. Answered accuracy is never traded away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from qa.config import ASK_CONFIG_FILE, AskSettings
from qa.evaluation.metrics import QuestionResult

_EDGE = 1e-3  # how far outside the observed confidences the end thresholds sit


@dataclass(frozen=True, slots=True)
class CurvePoint:
    threshold: float
    answered_accuracy: float | None  # correct among answered answerable questions
    answerable_answered: float | None  # share of answerable questions answered
    unanswerable_abstained: float | None  # share of unanswerable questions abstained on
    handled: float  # share of all questions handled correctly


@dataclass(frozen=True, slots=True)
class Calibration:
    threshold: float
    previous: float
    objective: str
    curve: tuple[CurvePoint, ...]
    chosen: CurvePoint  # the outcome at `threshold`
    questions: int


def _confidences(results: Sequence[QuestionResult]) -> list[float]:
    return sorted({r.confidence for r in results if not r.abstained})


def _thresholds(confidences: Sequence[float]) -> list[float]:
    if not confidences:
        return [0.0]
    return [*confidences, round(confidences[-1] + _EDGE, 6)]


def _safe_threshold(confidences: Sequence[float], t: float) -> float:
    """A threshold with the outcome of curve point `t`, away from any confidence."""
    below = [c for c in confidences if c < t]
    return round((below[-1] + t) / 2 if below else t - _EDGE, 6)


def evaluate_threshold(results: Sequence[QuestionResult], t: float) -> CurvePoint:
    """What the run would score with threshold `t` (results asked with no threshold)."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]

    def answers(r: QuestionResult) -> bool:
        return not r.abstained and r.confidence >= t

    answered = [r for r in answerable if answers(r)]
    right = sum(1 for r in answered if r.contains)
    abstained_ok = sum(1 for r in unanswerable if not answers(r))
    return CurvePoint(
        threshold=t,
        answered_accuracy=right / len(answered) if answered else None,
        answerable_answered=len(answered) / len(answerable) if answerable else None,
        unanswerable_abstained=abstained_ok / len(unanswerable) if unanswerable else None,
        handled=(right + abstained_ok) / len(results) if results else 0.0,
    )


def sweep(results: Sequence[QuestionResult]) -> tuple[CurvePoint, ...]:
    """The curve, lowest threshold first."""
    return tuple(evaluate_threshold(results, t) for t in _thresholds(_confidences(results)))


def choose_threshold(
    results: Sequence[QuestionResult], current: float
) -> tuple[float, str, tuple[CurvePoint, ...]]:
    """(threshold, the objective in words, the curve)."""
    curve = sweep(results)
    if any(not r.answerable for r in results):
        best = max(curve, key=lambda p: p.handled)  # max keeps the first (lowest) on ties
        threshold = _safe_threshold(_confidences(results), best.threshold)
        objective = (
            "maximise the share of questions handled correctly (answerable: answer contains "
            "a gold text; unanswerable: abstained); ties to the lower threshold"
        )
        return threshold, objective, curve
    objective = (
        "no unanswerable questions: keep the configured threshold unless it drops correct "
        "answers, then lower it to just below the lowest-confidence correct answer"
    )
    correct = [r.confidence for r in results if r.answerable and not r.abstained and r.contains]
    if not correct:
        return current, objective, curve
    return min(current, _safe_threshold(_confidences(results), min(correct))), objective, curve


def calibrate(results: Sequence[QuestionResult], current: float) -> Calibration:
    threshold, objective, curve = choose_threshold(results, current)
    chosen = evaluate_threshold(results, threshold)
    return Calibration(threshold, current, objective, curve, chosen, len(results))


def save_calibration(calibration: Calibration, index_dir: Path, questions_file: str, answerer: str) -> Path:
    """Write the threshold, the curve that chose it and the answerer whose confidence it
    cuts (`Pipeline.answerer`: another answerer ignores it) into the index's config.json,
    in one atomic write (two files could be left paired wrong by a kill between them)."""
    index_dir = Path(index_dir)
    settings = AskSettings.load(index_dir)
    record: dict[str, Any] = {
        "questions_file": questions_file,
        "answerer": answerer,
        "questions": calibration.questions,
        "objective": calibration.objective,
        "previous_threshold": calibration.previous,
        "abstain_threshold": calibration.threshold,
        "chosen": asdict(calibration.chosen),
        "curve": [asdict(p) for p in calibration.curve],
    }
    replace(settings, abstain_threshold=calibration.threshold).save(index_dir, calibration=record)
    return index_dir / ASK_CONFIG_FILE
