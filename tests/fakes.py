"""Deterministic stand-ins for fast plumbing tests. Behaviour is always also tested with
the real bundled model (see conftest's `real_embedder`)."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from qa.index.embedding import Embedder

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
