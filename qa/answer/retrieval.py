"""The retriever seam and the default hybrid retriever.

Hybrid = dense (FAISS over the chunk vectors) + lexical (BM25), fused convexly:
`w · cosine + (1 - w) · bm25 / max bm25`. On the dev sets this beat reciprocal rank
fusion by about 4 points of hit@1 (bench/FINDINGS.md). Candidates are the union of both
retrievers' top lists; every candidate is scored by both, so a chunk found by one is not
penalised for being missing from the other's short list.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from qa.index.embedding import Embedder
from qa.types import Passage


class Retriever(ABC):
    @abstractmethod
    def retrieve(
        self, question: str, k: int, *, query_vector: np.ndarray | None = None
    ) -> list[Passage]:
        """The `k` best passages for `question`, best first.

        `query_vector` is the question's embedding when the caller already has it.
        """


class HybridRetriever(Retriever):
    CANDIDATES = 50  # from each side; fusion re-ranks their union
    RESCORED = 30  # best fused candidates whose sentences are compared with the question

    def __init__(
        self, index, embedder: Embedder, *, dense_weight: float = 0.5, sentence_weight: float = 1.0
    ):
        self.index = index
        self.embedder = embedder
        self.dense_weight = dense_weight
        self.sentence_weight = sentence_weight

    def retrieve(self, question, k, *, query_vector=None):
        index = self.index
        n = len(index.chunks)
        if n == 0 or k <= 0:
            return []
        query = self.embedder.embed([question])[0] if query_vector is None else query_vector
        dense_rows = [hit.row for hit in index.store.search(query, self.CANDIDATES)[0]]
        lexical = index.lexical.scores(question)
        top_lexical = np.argsort(-lexical, kind="stable")[: self.CANDIDATES]
        rows = np.array(sorted(set(dense_rows) | {int(r) for r in top_lexical if lexical[r] > 0}))
        cosine = index.embeddings[rows] @ query
        best_lexical = float(lexical.max()) if len(lexical) else 0.0
        lexical_norm = lexical[rows] / best_lexical if best_lexical > 0 else np.zeros(len(rows))
        fused = self.dense_weight * cosine + (1 - self.dense_weight) * lexical_norm
        if self.sentence_weight:
            fused = fused + self.sentence_weight * self._best_sentence_cosines(rows, fused, query)
        # Stable tie-breaking: equal scores keep index order.
        order = np.lexsort((rows, -fused))[:k]
        return [
            Passage(
                chunk=index.chunks[rows[i]],
                score=float(fused[i]),
                dense_score=float(cosine[i]),
                lexical_score=float(lexical_norm[i]),
                row=int(rows[i]),
            )
            for i in order
        ]

    def _best_sentence_cosines(self, rows: np.ndarray, fused: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Each candidate's best sentence cosine (0 outside the RESCORED best).

        A chunk's vector averages all its sentences, so a paragraph with one sentence that
        answers the question and five that do not ranks low on chunk cosine alone.
        """
        index = self.index
        out = np.zeros(len(rows), dtype=np.float32)
        for i in np.argsort(-fused, kind="stable")[: self.RESCORED]:
            chunk = index.chunks[rows[i]]
            span = index.sentence_rows_within(chunk.source, chunk.start, chunk.end)
            if len(span):
                vectors = index.sentence_vectors[span.start : span.stop].astype(np.float32)
                out[i] = float((vectors @ query).max())
        return out
