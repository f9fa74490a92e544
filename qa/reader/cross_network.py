"""The cross-encoder reader's forward pass in plain torch, for question time.

Training builds the network with transformers' `BertModel` (`cross_encoder.build_model`),
but at question time importing transformers (0.6 s) and building that model from the
bundled checkpoint (1.3 s) were three times the rest of a cold `qa ask`. This is the same
arithmetic over the same weights (BERT: word + position + token-type embeddings, then
post-norm layers of self-attention and an exact-GELU MLP; then the span layer), tested
equal to `build_model`'s outputs. The frozen word embeddings come from the bundled
`model.safetensors`, the trained rest from the reader's weights.
"""

from __future__ import annotations

import os

import numpy as np

from qa.reader.cross_encoder import FROZEN_PREFIX


class CrossNetwork:
    """Start and end logits for a batch of (question, passage) pairs."""

    def __init__(self, tensors: dict[str, np.ndarray]):
        import torch

        from qa.index.embedding import bundled_model_path
        from qa.index.question_encoder import bert_config, load_safetensors

        folder = bundled_model_path()
        config = bert_config(folder)
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        bundled = load_safetensors(os.path.join(folder, "model.safetensors"))
        words = bundled[FROZEN_PREFIX.removeprefix("bert.") + "weight"]
        w = {FROZEN_PREFIX + "weight": torch.from_numpy(np.array(words, np.float32))}
        for name, value in tensors.items():
            w[name] = torch.from_numpy(np.asarray(value, np.float32))
        self._w = w
        self._torch = torch
        # A missing or misshapen tensor fails here (KeyError, RuntimeError), not at the
        # first question: `open_reader` turns either into a ReaderWeightsError.
        one = torch.ones(1, 3, dtype=torch.long)
        with torch.inference_mode():
            self(one, one, one, one.bool())

    def __call__(self, ids, mask, types, allowed):
        """ids, mask, types, allowed: (batch, n) as `cross_encoder.batch_tensors` makes
        them; returns start and end logits (batch, n), -1e4 where no answer may be."""
        torch, w = self._torch, self._w
        F = torch.nn.functional
        n = ids.shape[1]
        x = (
            F.embedding(ids, w["bert.embeddings.word_embeddings.weight"])
            + w["bert.embeddings.position_embeddings.weight"][:n]
            + F.embedding(types, w["bert.embeddings.token_type_embeddings.weight"])
        )
        x = self._norm(x, "bert.embeddings.LayerNorm")
        keep = mask.bool()[:, None, None, :]  # attend to real tokens only
        for i in range(self.layers):
            x = self._layer(x, keep, f"bert.encoder.layer.{i}.")
        logits = self._linear(x, "span").float().masked_fill(~allowed[..., None], -1e4)
        return logits[..., 0], logits[..., 1]

    def _layer(self, x, keep, p: str):
        F = self._torch.nn.functional
        b, n, dim = x.shape
        size = dim // self.heads

        def heads(name):
            return self._linear(x, p + "attention.self." + name).view(b, n, self.heads, size).transpose(1, 2)

        context = F.scaled_dot_product_attention(heads("query"), heads("key"), heads("value"), attn_mask=keep)
        context = context.transpose(1, 2).reshape(b, n, dim)
        x = self._norm(self._linear(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        inner = F.gelu(self._linear(x, p + "intermediate.dense"))  # exact (erf) GELU, as BERT's
        return self._norm(self._linear(inner, p + "output.dense") + x, p + "output.LayerNorm")

    def _linear(self, x, name: str):
        return self._torch.nn.functional.linear(x, self._w[name + ".weight"], self._w[name + ".bias"])

    def _norm(self, x, name: str):
        w = self._w
        return self._torch.nn.functional.layer_norm(x, x.shape[-1:], w[name + ".weight"], w[name + ".bias"], self.eps)
