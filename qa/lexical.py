"""The lexical side of an index: BM25 over chunk texts (bm25s), and the words of every
sentence with their IDF, which answering weighs overlaps with.

Stemmed (so "withdraw" meets "withdrawal") and without English stop words. BM25 is saved
as bm25s's own `.npy` arrays and JSON; the sentences' words as a vocabulary (JSON) and
arrays, all loaded with `allow_pickle=False`. Both are made at build time: stemming every
sentence took 4-6 s at the first question on the Python docs (167k sentences).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.errors import IndexCorruptError
from qa.npy_stream import NpyAppender

BM25_DIR = "bm25"
# The words of each sentence: vocabulary, sentences per word, and each sentence's word ids
# (rows `SENTENCE_WORD_STARTS[i]:SENTENCE_WORD_STARTS[i + 1]` of SENTENCE_WORDS).
VOCABULARY = "vocabulary.json"
WORD_SENTENCES = "word_sentences.npy"
SENTENCE_WORDS = "sentence_words.npy"
SENTENCE_WORD_STARTS = "sentence_word_starts.npy"
SENTENCE_WORD_FILES = (VOCABULARY, WORD_SENTENCES, SENTENCE_WORDS, SENTENCE_WORD_STARTS)


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


class SentenceWords:
    """Inverse document frequency of stemmed words over an index's sentences, and each
    sentence's set of words (`sentence_terms[row]`, made on demand from stored ids)."""

    def __init__(self, vocabulary: list[str], sentences_per_word: np.ndarray, starts: np.ndarray, ids: np.ndarray):
        self.n = max(1, len(starts) - 1)
        self.idf = {w: math.log(1 + self.n / c) for w, c in zip(vocabulary, sentences_per_word.tolist())}
        self.unseen = math.log(1 + self.n)
        self.sentence_terms = _SentenceTerms(vocabulary, starts, ids)

    def __call__(self, word: str) -> float:
        return self.idf.get(word, self.unseen)

    def known(self, word: str) -> bool:
        return word in self.idf

    @staticmethod
    def write(directory: Path, sentences: Iterable[str]) -> list[str]:
        """Stem every sentence (in row order) and save the result; returns the file names."""
        ids: dict[str, int] = {}
        counts: list[int] = []
        start = 0
        with (
            NpyAppender(directory / SENTENCE_WORDS, np.int32, 1) as words,
            NpyAppender(directory / SENTENCE_WORD_STARTS, np.int64, 1) as starts,
        ):
            starts.append(np.zeros((1, 1), np.int64))
            for text in sentences:
                row = sorted({ids.setdefault(w, len(ids)) for w in terms(text)})
                for i in row:
                    if i == len(counts):
                        counts.append(0)
                    counts[i] += 1
                start += len(row)
                words.append(np.array(row, np.int32).reshape(-1, 1))
                starts.append(np.array([[start]], np.int64))
        np.save(directory / WORD_SENTENCES, np.array(counts, np.int64).reshape(-1, 1), allow_pickle=False)
        (directory / VOCABULARY).write_text(json.dumps(list(ids), ensure_ascii=False), encoding="utf-8")
        return list(SENTENCE_WORD_FILES)

    @classmethod
    def load(cls, directory: Path, sentences: int) -> SentenceWords:
        try:
            vocabulary = json.loads((directory / VOCABULARY).read_text(encoding="utf-8"))
            counts = np.load(directory / WORD_SENTENCES, allow_pickle=False)[:, 0]
            starts = np.load(directory / SENTENCE_WORD_STARTS, allow_pickle=False, mmap_mode="r")[:, 0]
            ids = np.load(directory / SENTENCE_WORDS, allow_pickle=False, mmap_mode="r")[:, 0]
            valid = (
                isinstance(vocabulary, list) and all(isinstance(w, str) for w in vocabulary)
                and len(counts) == len(vocabulary) and len(starts) == sentences + 1
                and starts[0] == 0 and starts[-1] == len(ids)
                and (not len(ids) or 0 <= int(ids.min()) and int(ids.max()) < len(vocabulary))
            )
        except (OSError, ValueError, IndexError, TypeError) as exc:
            raise IndexCorruptError(f"the sentence words in {directory} cannot be read ({exc}): run `qa index --rebuild`") from exc
        if not valid:
            raise IndexCorruptError(f"the sentence words in {directory} do not match the index: run `qa index --rebuild`")
        return cls(vocabulary, counts, starts, ids)


class _SentenceTerms:
    """`[row]` -> frozenset of the stemmed words of sentence `row`."""

    def __init__(self, vocabulary: list[str], starts: np.ndarray, ids: np.ndarray):
        self._vocabulary = vocabulary
        self._starts = starts
        self._ids = ids

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, row: int) -> frozenset[str]:
        ids = self._ids[int(self._starts[row]) : int(self._starts[row + 1])].tolist()
        return frozenset(self._vocabulary[i] for i in ids)
