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


def test_an_answer_that_earns_little_is_not_worth_a_wrong_one():
    # The last answer earns .1: all answered, mean (.525 + .7) / 2 = .613 against .708 for
    # the top two, so the threshold falls midway between 2 and 1 (answerable F1 alone
    # would answer all).
    assert best_threshold(MARGINS, np.array([1.0, 1.0, 0.0, 0.1]), ANSWERABLE) == 1.5


def test_a_threshold_never_splits_tied_margins():
    # Answering the first two (3 and one of the 1s) would score best, but no threshold
    # answers one of two equal margins: of the real choices, the first three win.
    margins = np.array([3.0, 1.0, 1.0, 0.0])
    answerable = np.array([True, True, False, False])
    assert best_threshold(margins, np.array([1.0, 1.0, 0.0, 0.0]), answerable) == 0.5
    # Given in another order, the same.
    assert best_threshold(margins[::-1].copy(), np.array([0.0, 0.0, 1.0, 1.0]), answerable[::-1].copy()) == 0.5


def test_with_nothing_answerable_nothing_is_answered():
    t = best_threshold(np.array([2.0, 1.0]), np.zeros(2), np.array([False, False]))
    assert t > 2.0
