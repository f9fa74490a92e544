"""Validation groups: a question with the few passages it is read against, as at question time.

At question time the reader reads ~10 retrieved passages and the best span over all of them
wins, so what matters is that choice, not only the best span of the right paragraph. A
group is the question's own passage (the one holding the answer, or its paragraph when
SQuAD 2.0 marks it unanswerable) and the passages of other paragraphs of the same article
most similar to the question, retrieval-like; training validates on them
(`evaluate_groups`).

Tried and dropped (2026-12-03): training on these groups with a shared-normalisation loss
(Clark and Gardner 2018: the answer's start and end in a softmax over every token of the
group, no "no answer" in it) for 1.5 epochs (554k passage reads, 1.3x the shipped run's):
gold-paragraph span F1 .555 (shipped .560), no-answer AUROC .800 (.819), and on these groups
the choice was no better (F1 .520 vs .526 never abstaining, AUROC .614 vs .672). The
question's "no answer" belongs in that softmax too (DocQA's setting) before it can help.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qa.reader.features import Features
from qa.reader.squad import SquadParagraph

GROUP_SIZE = 3  # the question's passage and the two most similar of other paragraphs


@dataclass(frozen=True)
class Groups:
    """Parallel arrays over questions: the question's row, its `size` passage rows, and per
    passage the answer's first and last token (-1 where that passage does not hold it)."""

    question: np.ndarray  # (G,)
    passage: np.ndarray  # (G, size)
    start: np.ndarray  # (G, size)
    end: np.ndarray  # (G, size)

    def __len__(self) -> int:
        return len(self.question)

    def take(self, rows: np.ndarray) -> Groups:
        return Groups(self.question[rows], self.passage[rows], self.start[rows], self.end[rows])

    @property
    def answerable(self) -> np.ndarray:
        return (self.start >= 0).any(axis=1)


def token_target(spans: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """First and last token overlapping the character range [start, end)."""
    inside = np.nonzero((spans[:, 1] > start) & (spans[:, 0] < end))[0]
    if not len(inside):
        return -1, -1
    return int(inside[0]), int(inside[-1])


def build_groups(
    paragraphs: list[SquadParagraph],
    features: Features,
    size: int = GROUP_SIZE,
    seed: int = 13,
    articles: Callable[[int], bool] = lambda article: True,
) -> Groups:
    """One group per question of the `articles` kept whose own passage can be read (an
    answer cut by a chunk boundary has none: that question is left out, as in
    `build_examples`)."""
    meta = features.passage_meta
    rng = random.Random(seed)
    by_paragraph: dict[int, list[int]] = {}
    for row, p in enumerate(meta[:, 0].tolist()):
        by_paragraph.setdefault(p, []).append(row)
    by_article: dict[int, list[int]] = {}
    for p, para in enumerate(paragraphs):
        by_article.setdefault(para.article, []).append(p)
    pvec = np.asarray(features.passage_vectors, np.float32)
    qvec = np.asarray(features.question_vectors, np.float32)
    first_question = np.cumsum([0] + [len(p.questions) for p in paragraphs])
    n_rows = len(meta)

    questions, passages, starts, ends = [], [], [], []
    for article, paras in by_article.items():
        if not articles(article):
            continue
        rows = np.array([r for p in paras for r in by_paragraph.get(p, [])], np.int64)
        if not len(rows):
            continue
        owner = meta[rows, 0]
        for p in paras:
            own = by_paragraph.get(p, [])
            sims = qvec[first_question[p] : first_question[p + 1]] @ pvec[rows].T  # (its questions, the article's passages)
            for i, question in enumerate(paragraphs[p].questions):
                q = int(first_question[p] + i)
                slots: list[tuple[int, int, int]] = []
                if question.answers:
                    s, e = question.answers[0]
                    for row in own:
                        _, a, b = meta[row]
                        if a <= s and e <= b and not slots:
                            ts, te = token_target(
                                np.asarray(features.passages.spans[features.passages.rows(row)]), s - a, e - a
                            )
                            if ts >= 0:
                                slots.append((row, ts, te))
                    if not slots:
                        continue
                    # other chunks of a long paragraph that do not hold the answer
                    slots += [(r, -1, -1) for r in own if (meta[r, 2] <= s or meta[r, 1] >= e) and r != slots[0][0]]
                else:
                    slots += [(r, -1, -1) for r in own]
                slots = slots[:size]
                order = np.argsort(-sims[i])
                for k in order.tolist():
                    if len(slots) >= size:
                        break
                    if owner[k] != p:
                        slots.append((int(rows[k]), -1, -1))
                if len(slots) < size:  # an article of one paragraph: passages of other articles
                    taken = {r for r, _, _ in slots}
                    others = [r for r in range(n_rows) if r not in taken and meta[r, 0] != p]
                    for r in rng.sample(others, min(size - len(slots), len(others))):
                        slots.append((r, -1, -1))
                    while len(slots) < size:  # a corpus of one paragraph (tests): read one twice
                        slots.append(slots[-1][:1] + (-1, -1))
                questions.append(q)
                passages.append([r for r, _, _ in slots])
                starts.append([a for _, a, _ in slots])
                ends.append([b for _, _, b in slots])
    as_array = lambda x: np.array(x, np.int64).reshape(len(questions), -1)  # noqa: E731
    return Groups(np.array(questions, np.int64), as_array(passages), as_array(starts), as_array(ends))
