"""Which passage tokens belong to a word the question also uses (DrQA's exact-match features).

Computed from text, not vectors: the frozen encoder saw the passage and the question apart,
so "this word is in the question" is the reader's cheapest strong signal.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from qa.index.lexical import terms

_WORD = re.compile(r"\w+")
N_MATCH_FEATURES = 2


@lru_cache(maxsize=131_072)
def _stem(word: str) -> str | None:
    """The word's stem, None for a stop word."""
    stems = terms(word)
    return stems[0] if len(stems) == 1 else None


def question_words(question: str) -> tuple[frozenset[str], frozenset[str]]:
    """The question's content words, lower-cased and stemmed."""
    words = [m.group() for m in _WORD.finditer(question)]
    stems = {_stem(w) for w in words} - {None}
    lower = {w.lower() for w in words if _stem(w) is not None}
    return frozenset(lower), frozenset(stems)


def match_features(text: str, spans: np.ndarray, question: tuple[frozenset[str], frozenset[str]]) -> np.ndarray:
    """(tokens, 2) float32: the token's word is one of the question's (as written, as a stem)."""
    lower, stems = question
    out = np.zeros((len(spans), N_MATCH_FEATURES), np.float32)
    if not len(spans):
        return out
    word_of = {}
    for m in _WORD.finditer(text):
        word_of[m.start()] = m.group()
    starts = sorted(word_of)
    import bisect

    for i, start in enumerate(spans[:, 0].tolist()):
        k = bisect.bisect_right(starts, start) - 1
        if k < 0:
            continue
        w_start = starts[k]
        word = word_of[w_start]
        if start >= w_start + len(word):
            continue  # punctuation between words
        if word.lower() in lower:
            out[i, 0] = 1.0
        stem = _stem(word)
        if stem is not None and stem in stems:
            out[i, 1] = 1.0
    return out
