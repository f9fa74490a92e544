"""The lexical side of an index: BM25 over chunk texts (bm25s).

Stemmed (so "withdraw" meets "withdrawal") and without English stop words. BM25 is built
and saved by bm25s, as its own `.npy` arrays and JSON, loaded with `allow_pickle=False`;
its vocabulary also tells which words the sources hold at all (stemming every sentence
instead took 4-6 s on the Python docs' 167k). A question reads BM25's arrays with NumPy alone: importing bm25s pulls in scipy
(~0.3 s of a cold `qa ask`), and a saved "lucene" BM25 is a sparse (term x chunk) matrix of
finished scores, so a query's scores are a sum of its terms' columns, added exactly as
bm25s adds them (tested equal).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
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

    def knows(self, term: str) -> bool:
        """Whether any chunk holds `term` (a stem of `terms`). Every sentence's text is in a
        chunk, so this is every word of the sources, but for a word longer than a chunk's
        window cut where it has no ASCII space (qa/ingest/chunking.py `_split_long`)."""
        return term in self._vocab

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
