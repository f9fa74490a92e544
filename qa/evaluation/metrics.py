"""The metrics of shared/bench/README.md, per question and over a run.

Text metrics follow the official SQuAD script: lower case, punctuation and the articles
a/an/the removed, whitespace folded; EM and token F1 take the best gold answer. Offset
metrics (citation_hit, evidence_hit, hit@k, mrr@10, read_hit) count only questions whose gold has
offsets, since a text-only gold cannot say where the answer stands; read_hit also only
those whose answerer says how many passages it read. An abstention on an answerable
question scores 0 on every answerable metric except hit@k/mrr@10/read_hit, which measure
the passages retrieved and read regardless.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from qa.evaluation.questions import GoldAnswer, Question
from qa.types import Answer, Citation, Passage

TextOf = Callable[[str], "str | None"]

RANK_DEPTH = 10  # hit@k and mrr@10 look at this many passages
_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation, in the official order."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    pred = normalize_answer(prediction).split()
    ref = normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)  # SQuAD: both empty is a match, one empty a miss
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains(prediction: str, gold: str) -> bool:
    """The gold's normalised tokens appear, contiguous, in the prediction's."""
    return f" {normalize_answer(gold)} " in f" {normalize_answer(prediction)} "


def _overlaps(source: str, start: int, end: int, gold: Sequence[GoldAnswer]) -> bool:
    return any(
        g.has_offsets and g.source == source and start < g.end and g.start < end for g in gold
    )


def _hits(c: Citation | None, gold: Sequence[GoldAnswer]) -> bool:
    return c is not None and _overlaps(c.source, c.start, c.end, gold)


def first_hit_rank(passages: Sequence[Passage], gold: Sequence[GoldAnswer]) -> int | None:
    """1-based rank of the first passage overlapping a gold answer, within RANK_DEPTH."""
    for rank, p in enumerate(passages[:RANK_DEPTH], 1):
        if _overlaps(p.source, p.start, p.end, gold):
            return rank
    return None


def is_verbatim(answer: Answer, text_of: TextOf) -> bool:
    """The answer is exactly the text its first citation points at."""
    c = answer.citation
    if c is None:
        return False
    text = text_of(c.source)
    return text is not None and text[c.start : c.end] == answer.text


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """One question scored, kept for triage. None: the metric does not apply to it."""

    id: str
    question: str
    line: int
    gold: tuple[str, ...]
    predicted: str | None
    confidence: float
    latency_ms: float
    answerable: bool
    has_offsets: bool
    em: float | None
    f1: float | None
    contains: bool | None
    citation_hit: bool | None
    evidence_hit: bool | None
    rank: int | None  # first passage overlapping the gold (offset gold only)
    gold_retrieved: bool | None  # a gold answer lies in one of the returned passages
    verbatim: bool | None  # answered questions only
    reason: str | None = None  # why the pipeline abstained
    # A passage the answerer read overlaps the gold (offset gold, and a known `Answer.read`).
    read_hit: bool | None = None

    @property
    def abstained(self) -> bool:
        return self.predicted is None

    @property
    def correct(self) -> bool:
        """Right: an answer containing a gold text, or an abstention when none exists.

        `contains` rather than EM, so a sentence holding the answer counts: it is what a
        reader needs, and what the trade-off curve and the calibration optimise.
        """
        return bool(self.contains) if self.answerable else self.abstained


def score_question(q: Question, answer: Answer, text_of: TextOf) -> QuestionResult:
    gold = q.answers
    predicted = answer.text
    answerable = q.answerable
    offsets = q.has_offsets
    text_metrics = answerable and predicted is not None
    rank = first_hit_rank(answer.passages, gold) if offsets else None
    if not answerable:
        retrieved = None
    elif offsets:
        retrieved = any(_overlaps(p.source, p.start, p.end, gold) for p in answer.passages)
    else:
        retrieved = any(contains(p.text, g.text) for p in answer.passages for g in gold)
    return QuestionResult(
        id=q.id,
        question=q.question,
        line=q.line,
        gold=tuple(g.text for g in gold),
        predicted=predicted,
        confidence=answer.confidence,
        latency_ms=answer.latency_ms,
        answerable=answerable,
        has_offsets=offsets,
        em=max(exact_match(predicted, g.text) for g in gold) if text_metrics else (
            0.0 if answerable else None
        ),
        f1=max(token_f1(predicted, g.text) for g in gold) if text_metrics else (
            0.0 if answerable else None
        ),
        contains=any(contains(predicted, g.text) for g in gold) if text_metrics else (
            False if answerable else None
        ),
        citation_hit=_hits(answer.citation, gold) if offsets else None,
        evidence_hit=_hits(answer.evidence, gold) if offsets else None,
        rank=rank,
        read_hit=(
            any(_overlaps(p.source, p.start, p.end, gold) for p in answer.passages[: answer.read])
            if offsets and answerable and answer.read is not None else None
        ),
        gold_retrieved=retrieved,
        verbatim=is_verbatim(answer, text_of) if predicted is not None else None,
        reason=answer.reason,
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def auroc(scores: Sequence[float], positive: Sequence[bool]) -> float | None:
    """Area under the ROC curve: the chance that a positive scores above a negative (ties
    count half); None without both kinds."""
    pos = sorted(s for s, p in zip(scores, positive) if p)
    neg = sorted(s for s, p in zip(scores, positive) if not p)
    if not pos or not neg:
        return None
    import bisect

    wins = sum(bisect.bisect_left(neg, s) + 0.5 * (bisect.bisect_right(neg, s) - bisect.bisect_left(neg, s)) for s in pos)
    return wins / (len(pos) * len(neg))


# (name in README, what it is over), in the README's order: the table and JSON use these.
METRICS: tuple[tuple[str, str], ...] = (
    ("em", "answerable"),
    ("f1", "answerable"),
    ("contains", "answerable"),
    ("citation_hit", "answerable with offsets"),
    ("evidence_hit", "answerable with offsets"),
    ("hit@1", "answerable with offsets"),
    ("hit@5", "answerable with offsets"),
    ("hit@10", "answerable with offsets"),
    ("mrr@10", "answerable with offsets"),
    # The passages the answerer read hold the gold: at most hit@read_k, and below it when
    # the trained reader stopped after two passages with the gold further down.
    ("read_hit", "answerable with offsets"),
    ("abstain_unanswerable", "unanswerable"),
    ("abstain_answerable", "answerable"),
    # SQuAD 2.0's F1: token F1 on answerable questions, 1 for an abstention on an
    # unanswerable one (always abstaining scores the unanswerable share).
    ("squad2_f1", "all"),
    # How well `confidence` separates answerable from unanswerable questions (.5: chance).
    ("abstain_auroc", "all"),
    ("verbatim", "answered"),
    ("latency_p50_ms", "all"),
    ("latency_p95_ms", "all"),
)
# Rounding of every reported value, so the JSON, the table and the report show the same
# numbers: shares to 4 digits (1/810 is 0.0012), milliseconds to 0.1 (finer is noise).
DIGITS = 4
MS_DIGITS = 1


def _digits(name: str) -> int:
    return MS_DIGITS if name.endswith("_ms") else DIGITS


@dataclass(frozen=True, slots=True)
class Metrics:
    """A run's metrics; a value is None when no question is in what it is over."""

    questions: int
    answerable: int
    unanswerable: int
    with_offsets: int
    answered: int
    values: tuple[tuple[str, float | None], ...]  # (name, value) in METRICS order

    def __getitem__(self, name: str) -> float | None:
        return dict(self.values)[name]

    def counts(self) -> dict[str, int]:
        return {
            "all": self.questions,
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            "answerable with offsets": self.with_offsets,
            "answered": self.answered,
        }

    def over(self, name: str) -> int:
        """How many questions metric `name` is computed over."""
        return self.counts()[dict(METRICS)[name]]

    def as_dict(self) -> dict[str, Any]:
        return {name: value for name, value in self.values}


def aggregate(results: Sequence[QuestionResult]) -> Metrics:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    located = [r for r in answerable if r.has_offsets]
    answered = [r for r in results if not r.abstained]
    latencies = [r.latency_ms for r in results]

    def share(rows: list[QuestionResult], test: Callable[[QuestionResult], bool]) -> float | None:
        return _mean([float(test(r)) for r in rows])

    raw: dict[str, float | None] = {
        "em": _mean([r.em for r in answerable]),
        "f1": _mean([r.f1 for r in answerable]),
        "contains": share(answerable, lambda r: bool(r.contains)),
        "citation_hit": share(located, lambda r: bool(r.citation_hit)),
        "evidence_hit": share(located, lambda r: bool(r.evidence_hit)),
        "hit@1": share(located, lambda r: r.rank is not None and r.rank <= 1),
        "hit@5": share(located, lambda r: r.rank is not None and r.rank <= 5),
        "hit@10": share(located, lambda r: r.rank is not None and r.rank <= 10),
        "mrr@10": _mean([1 / r.rank if r.rank else 0.0 for r in located]),
        "read_hit": share([r for r in located if r.read_hit is not None], lambda r: bool(r.read_hit)),
        "abstain_unanswerable": share(unanswerable, lambda r: r.abstained),
        "abstain_answerable": share(answerable, lambda r: r.abstained),
        "squad2_f1": _mean([r.f1 if r.answerable else float(r.abstained) for r in results]),
        "abstain_auroc": auroc([r.confidence for r in results], [r.answerable for r in results]),
        "verbatim": share(answered, lambda r: bool(r.verbatim)),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }
    values = tuple(
        (name, None if raw[name] is None else round(raw[name], _digits(name)))
        for name, _ in METRICS
    )
    return Metrics(
        questions=len(results),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        with_offsets=len(located),
        answered=len(answered),
        values=values,
    )
