"""The lexical side of an index: BM25 over chunk texts (bm25s), and the words of every
sentence with their IDF, which answering weighs overlaps with.

Stemmed (so "withdraw" meets "withdrawal") and without English stop words. BM25 is built
and saved by bm25s, as its own `.npy` arrays and JSON; the sentences' words as a vocabulary
(JSON) and arrays, all loaded with `allow_pickle=False`. Both are made at build time:
stemming every sentence took 4-6 s at the first question on the Python docs (167k
sentences). A question reads BM25's arrays with NumPy alone: importing bm25s pulls in scipy
(~0.3 s of a cold `qa ask`), and a saved "lucene" BM25 is a sparse (term x chunk) matrix of
finished scores, so a query's scores are a sum of its terms' columns, added exactly as
bm25s adds them (tested equal).
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
from qa.index.npy_stream import NpyAppender

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


# bm25s's STOPWORDS_EN (Lucene's English stop set), copied so that question time needs no
# bm25s import; tests/test_lexical.py checks the copy against bm25s.
STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)


def terms(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed words: the unit of BM25 and of word overlap."""
    words = [w for w in _TOKEN.findall(text.lower()) if w not in STOP_WORDS]
    return _stemmer().stemWords(words)


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    return [terms(t) for t in texts]


# The files of bm25s's `save` that scoring reads (its defaults)
_PARAMS, _VOCAB = "params.index.json", "vocab.index.json"
_ARRAYS = ("data", "indices", "indptr")  # each in `<name>.csc.index.npy`


class LexicalIndex:
    """BM25 scores of every chunk for a query: a CSC matrix (terms are columns) of the
    scores bm25s precomputed at build time, and its vocabulary (term -> column)."""

    def __init__(self, vocab: dict[str, int], scores: dict[str, np.ndarray], size: int, bm25=None):
        self._vocab = vocab
        self._scores = scores  # data, indices, indptr
        self._size = size
        self._bm25 = bm25  # the bm25s object when freshly built, for `save`

    @classmethod
    def build(cls, texts: Iterable[str]) -> LexicalIndex:
        """BM25 over `texts`, read once as they come: each text's terms are kept as an
        array of vocabulary ids (4 bytes a term), not as lists of strings (~60 bytes a
        term, ~300 MB at 100k chunks)."""
        import bm25s

        vocab: dict[str, int] = {}
        corpus: list[np.ndarray] = []
        for text in texts:
            # bm25s cannot index a corpus with no tokens at all; an all-stop-word corpus
            # is still a corpus, so give each document a placeholder token.
            words = terms(text) or ["\u2205"]
            corpus.append(np.array([vocab.setdefault(w, len(vocab)) for w in words], np.int32))
        bm25 = bm25s.BM25()
        if not corpus:
            return cls({}, {}, 0, bm25)
        bm25.index((corpus, vocab), show_progress=False)  # adds "" to `vocab`, as from strings
        return cls(dict(bm25.vocab_dict), {name: bm25.scores[name] for name in _ARRAYS}, len(corpus), bm25)

    @classmethod
    def load(cls, directory: Path, size: int) -> LexicalIndex:
        if size == 0:
            return cls({}, {}, 0)
        folder = directory / BM25_DIR
        try:
            params = json.loads((folder / _PARAMS).read_text(encoding="utf-8"))
            vocab = json.loads((folder / _VOCAB).read_text(encoding="utf-8"))
            scores = {name: np.load(folder / f"{name}.csc.index.npy", allow_pickle=False) for name in _ARRAYS}
            # Other BM25 variants add a per-term score for chunks without the term, which
            # this reader does not: refuse them rather than score them wrongly.
            if params.get("method") != "lucene" or params.get("num_docs") != size:
                raise ValueError(f"method {params.get('method')!r}, {params.get('num_docs')} documents")
            # bm25s lists "" last in its vocabulary with no column; no query term is "".
            vocab.pop("", None)
            if max(vocab.values(), default=-1) + 2 > len(scores["indptr"]):
                raise ValueError("the vocabulary and the score matrix disagree")
        except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
            raise IndexCorruptError(
                f"the BM25 index in {directory} cannot be read ({exc}): run `qa index --rebuild`"
            ) from exc
        return cls(vocab, scores, size)

    def save(self, directory: Path) -> None:
        if self._size:
            self._bm25.save(str(directory / BM25_DIR), show_progress=False)
        else:
            (directory / BM25_DIR).mkdir()

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for `query` (zeros when no query word is indexed).

        A repeated query term counts each time, as in bm25s's `get_scores`; np.add.at in
        the same order gives bm25s's float32 sums to the bit.
        """
        out = np.zeros(self._size, dtype=np.float32)
        data, indices, indptr = (self._scores.get(name) for name in _ARRAYS)
        for column in (self._vocab[t] for t in terms(query) if t in self._vocab):
            start, end = indptr[column], indptr[column + 1]
            np.add.at(out, indices[start:end], data[start:end])
        return out


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
