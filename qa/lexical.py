"""The lexical half of hybrid retrieval: BM25 over chunk texts, with bm25s.

Stemmed (so "withdraw" meets "withdrawal") and without English stop words. Saved as
bm25s's own `.npy` arrays and JSON, loaded with `allow_pickle=False`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.errors import IndexCorruptError

BM25_DIR = "bm25"


_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's default token pattern


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def terms(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed words: the unit of BM25 and of word overlap."""
    stop = _stopwords()
    words = [w for w in _TOKEN.findall(text.lower()) if w not in stop]
    return _stemmer().stemWords(words)


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    return [terms(t) for t in texts]


class LexicalIndex:
    def __init__(self, bm25, size: int):
        self._bm25 = bm25
        self._size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        import bm25s

        bm25 = bm25s.BM25()
        tokens = tokenize(texts)
        # bm25s cannot index a corpus with no tokens at all; an all-stop-word corpus is
        # still a corpus, so give each document a placeholder token.
        tokens = [t or ["\u2205"] for t in tokens]
        if texts:
            bm25.index(tokens, show_progress=False)
        return cls(bm25, len(texts))

    @classmethod
    def load(cls, directory: Path, size: int) -> LexicalIndex:
        import bm25s

        if size == 0:
            return cls(None, 0)
        try:
            bm25 = bm25s.BM25.load(str(directory / BM25_DIR), allow_pickle=False)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorruptError(
                f"the BM25 index in {directory} cannot be read ({exc}): run `qa index --rebuild`"
            ) from exc
        return cls(bm25, size)

    def save(self, directory: Path) -> None:
        if self._size:
            self._bm25.save(str(directory / BM25_DIR), show_progress=False)
        else:
            (directory / BM25_DIR).mkdir()

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for `query` (zeros when no query word is indexed)."""
        if not self._size:
            return np.zeros(0, dtype=np.float32)
        ids = self._bm25.get_tokens_ids(terms(query))
        if not ids:
            return np.zeros(self._size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(ids), dtype=np.float32)
