"""Questions through the bundled model on torch with bf16 products, once torch is loaded.

The trained reader runs on torch, so with it loaded the question's own pass (its vector for
retrieval) can use torch's bf16 matrix products (AMX) instead of NumPy's float32 BLAS,
which is slow on a question's few rows: 384 x 1536 products on 14 rows ran at ~30 GFLOP/s.
Super Bowl, 200 questions, interleaved on a quiet machine: 6.5 ms a question on one
thread, 4.8 ms on torch's two, against 13.3 ms for `NumpyMiniLM` on one BLAS thread
(2026-12-04). The vectors are `NumpyMiniLM`'s up to bf16 rounding, as the index's own are
(built under bf16 autocast): tested close to them.
"""

from __future__ import annotations

import warnings

import numpy as np

from qa.index.embedding import PAD_TO
from qa.index.packed_bert import PackedBert
from qa.index.question_encoder import NumpyMiniLM, bert_config


class TorchMiniLM(NumpyMiniLM):
    """`NumpyMiniLM` (same tokenizer and pooling) with the forward pass on torch."""

    def __init__(self, folder: str):
        import torch

        super().__init__(folder)
        with warnings.catch_warnings():  # the memory-mapped weights are read-only, and never written
            warnings.simplefilter("ignore", UserWarning)
            w = {name: torch.from_numpy(value) for name, value in self._w.items() if not name.startswith("pooler.")}
        self._bert = PackedBert(w, bert_config(folder), torch.bfloat16)
        self._torch = torch

    def _forward(self, ids: np.ndarray) -> np.ndarray:
        torch = self._torch
        n = len(ids)
        # Padded to a multiple of PAD_TO (the key mask hides the padding): torch caches
        # kernels per shape, and one shape per question length grew a process by ~2.6 MB
        # per new length.
        width = -(-n // PAD_TO) * PAD_TO
        row = torch.zeros(1, width, dtype=torch.long)
        row[0, :n] = torch.from_numpy(ids)
        real = torch.zeros(1, width, dtype=torch.long)
        real[0, :n] = 1
        with torch.inference_mode():
            hidden, _ = self._bert(row, real, torch.zeros_like(row))
        return hidden[:n].numpy()  # the text's own positions
