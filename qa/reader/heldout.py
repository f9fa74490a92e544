"""Calibrating the reader where it is used: behind retrieval, on articles it never saw.

The margin of the best span over ~10 retrieved passages is not the margin of one gold
paragraph (a maximum over passages runs higher), so confidence is fitted here, through
the real pipeline: the held-out articles of the training file become a sources folder,
get indexed, and their questions are asked. Two things come out:
- Platt scaling, sigmoid(scale * margin + bias) ~ P(the answer is right, token F1 >= .5);
- the confidence at which abstaining maximises the mean of SQuAD 2.0 F1 and the F1 on
  answerable questions there: the default threshold (`best_threshold`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa.config import READER_READ_K
from qa.evaluation.metrics import auroc, token_f1
from qa.reader.squad import SquadParagraph
from qa.reader.cross_training import VALIDATION_EVERY

PARAGRAPH_BREAK = "\n\n"


def heldout_sources(paragraphs: list[SquadParagraph], folder: Path) -> list[tuple[str, str, list[str]]]:
    """Write each held-out article as one text file; returns (question, source, gold texts)."""
    folder.mkdir(parents=True, exist_ok=True)
    by_article: dict[int, list[SquadParagraph]] = {}
    for p in paragraphs:
        if p.article % VALIDATION_EVERY == 0:
            by_article.setdefault(p.article, []).append(p)
    questions = []
    for article, paras in by_article.items():
        name = f"article-{article:03d}.txt"
        (folder / name).write_text(PARAGRAPH_BREAK.join(p.context for p in paras) + "\n", encoding="utf-8")
        for p in paras:
            for q in p.questions:
                questions.append((q.question, name, [p.context[a:b] for a, b in q.answers]))
    return questions


def fit_platt(margins: np.ndarray, right: np.ndarray, steps: int = 100, l2: float = 1e-3) -> tuple[float, float]:
    """(scale, bias) of sigmoid(scale * margin + bias), by Newton's method on log loss.

    Fitted on standardised margins with a little L2 (separable data would otherwise send
    the scale to infinity), then mapped back to the raw margin.
    """
    mean, std = float(margins.mean()), float(margins.std()) or 1.0
    x = np.stack([(margins - mean) / std, np.ones_like(margins)], axis=1).astype(float)
    y = right.astype(float)
    theta = np.zeros(2)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ theta, -30, 30)))
        grad = x.T @ (p - y) + l2 * len(y) * np.array([theta[0], 0.0])
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * len(y) * np.diag([1.0, 0.0]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    scale = theta[0] / std
    return float(scale), float(theta[1] - scale * mean)


def best_threshold(margins: np.ndarray, f1: np.ndarray, answerable: np.ndarray) -> float:
    """The margin above which answering (answer iff margin >= t) maximises the mean of
    SQuAD 2.0 F1 and the F1 on answerable questions, weighted equally.

    SQuAD 2.0 F1 alone is flat around its best threshold while abstentions on answerable
    questions are not: on the 4,000 held-out questions its best (.630 at confidence .351)
    abstained on 24% of the answerable ones, and .252 gives .612 with 15% (answerable F1
    .564 -> .602; the mean of the two .597 -> .607). People mostly ask what their sources
    answer; an abstention leaves them to search, and an answer comes with its confidence
    and citation to check. A threshold only cuts between distinct margins (tied questions
    are answered together), answering none is a choice, and ties go to answering more,
    as in `qa eval --calibrate`.
    """
    order = np.argsort(-margins, kind="stable")
    m = margins[order]
    n = len(m)
    gain = np.r_[0.0, np.cumsum(np.where(answerable, f1, 0.0)[order])]  # answering the first k earns
    wrong = np.r_[0.0, np.cumsum((~answerable)[order])]  # unanswerable ones among the first k
    squad2 = (gain + (wrong[-1] - wrong)) / max(1, n)
    total = squad2 + gain / max(1, int(answerable.sum()))
    total[1:n][m[:-1] == m[1:]] = -np.inf  # no cut inside a tie
    k = n - int(np.argmax(total[::-1]))  # the last best: the most answered
    if k == 0:
        return float(m[0] + 1e-6) if n else 0.0
    return float((m[k - 1] + m[k]) / 2) if k < n else float(m[-1] - 1e-6)


def _sigmoid(z: float) -> float:
    return 0.5 * (1.0 + math.tanh(0.5 * z))  # no overflow for any z


def best_rank_penalty(questions: list[list[tuple[float, int, float]]], penalties=np.arange(0, 1.51, 0.1)) -> float:
    """The per-rank penalty on the margin that picks the best span across passages: the
    reader never sees two passages together, and retrieval's order carries evidence too."""
    def mean_f1(penalty):
        return np.mean([max(c, key=lambda c: c[0] - penalty * c[1])[2] for c in questions if c])

    return float(max(penalties, key=mean_f1))


def heldout_questions(paragraphs: list[SquadParagraph], work: Path, limit: int = 4000, seed: int = 13):
    """A fixed sample of the held-out questions, and a pipeline over their articles (its
    index and retriever only: no reader is loaded, not even the shipped one)."""
    from qa.errors import IndexIncompatibleError
    from qa.pipeline import Pipeline

    questions = heldout_sources(paragraphs, work / "sources")
    random.Random(seed).shuffle(questions)
    try:
        pipeline = Pipeline.open(work / "index", sources=work / "sources", reader=None)
    except IndexIncompatibleError:  # a cache from an older qa: it is ours to rebuild
        pipeline = Pipeline.open(work / "index", sources=work / "sources", reader=None, rebuild=True)
    return questions[:limit], pipeline


def calibrate_heldout(
    paragraphs: list[SquadParagraph],
    reader_dir: Path,
    work: Path,
    *,
    limit: int = 4000,
    seed: int = 13,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> dict:
    from qa.answer.answering import read_passages
    from qa.reader.weights import open_reader

    questions, pipeline = heldout_questions(paragraphs, work, limit, seed)
    reader = open_reader(reader_dir)
    index, retriever = pipeline._index, pipeline._retriever
    embedder = pipeline._embedder.questions_on_torch()  # questions encoded as `ask` encodes them beside the reader
    settings = pipeline.settings
    candidates: list[list[tuple[float, int, float]]] = []  # per question: (margin, rank, F1)
    answerable: list[bool] = []
    extras: list[tuple[float, float, float]] = []  # retrieval score, min and max no-answer (inspection)
    for n, (question, _, gold) in enumerate(questions):
        vector = embedder.embed_query(question)
        passages = retriever.retrieve(question, settings.top_k, query_vector=vector)
        # the passages answer_question reads, here in one pass (its two steps are
        # simulated by tests/benchmarks/reader_decisions.py)
        read = passages[: settings.passages_read(READER_READ_K)]
        reads = read_passages(reader.network, question, read, index)
        candidates.append([
            (r.margin, r.passage, max((token_f1(index.document(r.source).text[r.start : r.end], g) for g in gold), default=0.0))
            for r in reads
        ])
        answerable.append(bool(gold))
        nulls = [r.no_answer for r in reads] or [0.0]
        extras.append((passages[0].score if passages else 0.0, min(nulls), max(nulls)))
        progress(n + 1, len(questions))
    ans = np.array(answerable)
    penalty = best_rank_penalty([c for c, a in zip(candidates, answerable) if a])
    best = [max(c, key=lambda c: c[0] - penalty * c[1]) if c else (-math.inf, 0, 0.0) for c in candidates]
    m = np.array([b[0] - penalty * b[1] for b in best])
    finite = np.isfinite(m)
    m = np.where(finite, m, np.min(m[finite]) - 1 if finite.any() else -1.0)
    f1 = np.array([b[2] for b in best])
    np.savez(work / "heldout-margins.npz", margin=m, f1=f1, answerable=ans, extras=np.array(extras))  # for inspection
    scale, bias = fit_platt(m, ans & (f1 >= 0.5))
    t = best_threshold(m, f1, ans)
    answered = m >= t
    return {
        "scale": scale,
        "bias": bias,
        "threshold": _sigmoid(scale * t + bias),
        "rank_penalty": penalty,
        "heldout": {
            "questions": int(len(m)),
            "squad2_f1": float(np.where(ans, np.where(answered, f1, 0.0), (~answered).astype(float)).mean()),
            "f1_answerable": float(np.where(answered, f1, 0.0)[ans].mean()) if ans.any() else None,
            "f1_answerable_unthresholded": float(f1[ans].mean()) if ans.any() else None,
            "abstain_auroc": auroc(m.tolist(), ans.tolist()),
        },
    }
