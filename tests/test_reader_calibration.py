"""The reader's default abstain threshold, fitted on held-out questions (qa/reader/heldout.py)."""

from __future__ import annotations

import numpy as np

from qa.reader.heldout import best_threshold

MARGINS = np.array([3.0, 2.0, 1.0, 0.0])
ANSWERABLE = np.array([True, True, False, True])


def test_the_threshold_weighs_answerable_f1_as_much_as_squad2_f1():
    # Answering the top two: SQuAD 2.0 F1 (1 + 1 + 1 abstained) / 4 = .75, answerable F1
    # 2/3, mean .708. Answering all: SQuAD 2.0 F1 2.5 / 4 = .625, answerable F1 2.5 / 3,
    # mean .729: the last answer's .5 is worth its wrong answer on the unanswerable one.
    # SQuAD 2.0 F1 alone would stop after two (threshold 1.5).
    assert best_threshold(MARGINS, np.array([1.0, 1.0, 0.0, 0.5]), ANSWERABLE) < 0.0


def test_an_answer_that_earns_nothing_is_not_worth_a_wrong_one():
    # The same, but the last answer is wrong: all answered, mean (.5 + .667) / 2 = .583
    # against .708 for the top two; the threshold falls midway between 2 and 1.
    assert best_threshold(MARGINS, np.array([1.0, 1.0, 0.0, 0.0]), ANSWERABLE) == 1.5
