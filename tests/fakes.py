"""Deterministic stand-ins for fast plumbing tests. Behaviour is always also tested with
the real bundled model (see conftest's `real_embedder`)."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from qa.index.embedding import Embedder, TokenVectors

_WORD = re.compile(r"\w+|[^\w\s]")


class FakeEmbedder(Embedder):
    """Hashed bag of lower-cased words: similar wording gives similar vectors."""

    model_id = "fake/hashing-bag-of-words"
    dim = 64
    max_word_pieces = 254
    model_sha256 = {"hashing": hashlib.sha256(b"blake2b-4 of lower-cased words").hexdigest()}

    def __init__(self) -> None:
        self.embedded: list[str] = []  # every text embedded, so tests can count

    def embed(self, texts, *, on_batch=None):
        out = self._vectors(texts)
        self.embedded.extend(texts)
        if on_batch and texts:
            on_batch(len(texts))
        return out

    def embed_with_spans(self, texts, spans, *, on_batch=None):
        """Chunk vectors (counted in `embedded`) and span vectors (not counted)."""
        vectors = self.embed(texts, on_batch=on_batch)
        return vectors, [
            self._vectors([text[a:b] for a, b in text_spans]) for text, text_spans in zip(texts, spans)
        ]

    def _vectors(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
        return out

    def count_word_pieces(self, text: str) -> int:
        return len(_WORD.findall(text))


class TokenFakeEmbedder(FakeEmbedder):
    """FakeEmbedder that also gives token vectors: one hashed vector per word, so a word
    aligns exactly with itself (for late-interaction plumbing)."""

    def embed_with_tokens(self, texts, spans, *, on_batch=None):
        vectors, span_vectors = self.embed_with_spans(texts, spans, on_batch=on_batch)
        return vectors, span_vectors, [self._tokens(text) for text in texts]

    def embed_query(self, text):
        return self._vectors([text])[0], self._tokens(text)

    def _tokens(self, text):
        words = list(_WORD.finditer(text))
        return TokenVectors(
            self._vectors([m.group() for m in words]).reshape(-1, self.dim),
            np.array([m.span() for m in words], dtype=np.int64).reshape(-1, 2),
        )
