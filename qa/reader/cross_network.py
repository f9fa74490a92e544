"""The cross-encoder reader's forward pass in plain torch, for question time.

Training builds the network with transformers' `BertModel` (`cross_encoder.build_model`),
but at question time importing transformers (0.6 s) and building that model from the
bundled checkpoint (1.3 s) were three times the rest of a cold `qa ask`. This is the same
arithmetic over the same weights (BERT: word + position + token-type embeddings, then
post-norm layers of self-attention and an exact-GELU MLP; then the span layer), tested
equal to `build_model`'s outputs. The frozen word embeddings come from the bundled
`model.safetensors`, the trained rest from the reader's weights.

The encoder is `qa.index.packed_bert.PackedBert` (pairs packed without padding, bf16
weights cast and laid out for oneDNN once: Super Bowl, 5 passages a question, 0.80x the
time of a padded batch, then 0.85x at p50 with the layout; model card); this adds the span
layer. `prepack` None: oneDNN's layout wherever the products are bf16.
"""

from __future__ import annotations

import os

import numpy as np

from qa.index.packed_bert import PackedBert, fused
from qa.reader.cross_encoder import FROZEN_PREFIX


class CrossNetwork:
    """Start and end logits for a batch of (question, passage) pairs."""

    def __init__(self, tensors: dict[str, np.ndarray], *, bf16: bool = False, prepack: bool | None = None):
        import torch

        from qa.index.embedding import bundled_model_path
        from qa.index.question_encoder import bert_config, load_safetensors

        folder = bundled_model_path()
        self.dtype = torch.bfloat16 if bf16 else torch.float32  # of the matrix products
        bundled = load_safetensors(os.path.join(folder, "model.safetensors"))
        words = FROZEN_PREFIX.removeprefix("bert.") + "weight"
        w = {words: torch.from_numpy(np.array(bundled[words], np.float32))}
        for name, value in tensors.items():
            w[name.removeprefix("bert.")] = torch.from_numpy(np.asarray(value, np.float32))
        span = fused(w, ["span"], self.dtype)
        self._bert = PackedBert(w, bert_config(folder), self.dtype, prepack=prepack)
        self._span = span
        self._torch = torch
        # A missing or misshapen tensor fails here (KeyError, RuntimeError), not at the
        # first question: `open_reader` turns either into a ReaderWeightsError.
        one = torch.ones(1, 3, dtype=torch.long)
        with torch.inference_mode():
            self(one, one, one, one.bool())

    def __call__(self, ids, mask, types, allowed):
        """ids, mask, types, allowed: (batch, n) as `cross_encoder.batch_tensors` makes
        them (each row's real tokens first); returns start and end logits (batch, n),
        -1e4 where no answer may be."""
        torch = self._torch
        b, n = ids.shape
        x, rows = self._bert(ids, mask, types)
        logits = torch.full((b * n, 2), -1e4)
        weight, bias = self._span
        logits[rows] = torch.nn.functional.linear(x.to(self.dtype), weight, bias).float()
        logits = logits.view(b, n, 2).masked_fill(~allowed[..., None], -1e4)
        return logits[..., 0], logits[..., 1]
