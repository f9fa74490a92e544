"""The cross-encoder reader's forward pass in plain torch, for question time.

Training builds the network with transformers' `BertModel` (`cross_encoder.build_model`),
but at question time importing transformers (0.6 s) and building that model from the
bundled checkpoint (1.3 s) were three times the rest of a cold `qa ask`. This is the same
arithmetic over the same weights (BERT: word + position + token-type embeddings, then
post-norm layers of self-attention and an exact-GELU MLP; then the span layer), tested
equal to `build_model`'s outputs. The frozen word embeddings come from the bundled
`model.safetensors`, the trained rest from the reader's weights.

Two things make it faster than the padded batch training uses (Super Bowl, 5 passages a
question: 0.80x the time; model card):
- **Packed tokens.** The passages read for a question differ in length (mean 141 word
  pieces against 223 for the longest), so a padded batch spends a third of its matrix
  products on padding. Every pair's tokens (padded to a multiple of PAD_TO only) are
  packed into one (tokens, 384) matrix for the dense layers; attention runs per pair, over
  its own real tokens.
- **Weights cast once.** Under bf16 the dense layers' weights are cast when loaded, not
  on every call as `torch.autocast` casts them. The residual stream and layer norms stay
  float32, as under autocast.
"""

from __future__ import annotations

import os

import numpy as np

from qa.index.embedding import PAD_TO
from qa.reader.cross_encoder import FROZEN_PREFIX

_DENSE = ("attention.output.dense", "intermediate.dense", "output.dense")


class CrossNetwork:
    """Start and end logits for a batch of (question, passage) pairs."""

    def __init__(self, tensors: dict[str, np.ndarray], *, bf16: bool = False):
        import torch

        from qa.index.embedding import bundled_model_path
        from qa.index.question_encoder import bert_config, load_safetensors

        folder = bundled_model_path()
        config = bert_config(folder)
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.dtype = torch.bfloat16 if bf16 else torch.float32  # of the matrix products
        bundled = load_safetensors(os.path.join(folder, "model.safetensors"))
        words = bundled[FROZEN_PREFIX.removeprefix("bert.") + "weight"]
        w = {FROZEN_PREFIX + "weight": torch.from_numpy(np.array(words, np.float32))}
        for name, value in tensors.items():
            w[name] = torch.from_numpy(np.asarray(value, np.float32))
        # Dense layers in the product dtype, query, key and value as one product; the
        # float32 originals are dropped (under bf16 they would be 40 MB never read).
        self._dense = {}
        for i in range(self.layers):
            p = f"bert.encoder.layer.{i}."
            self._dense[p + "qkv"] = _fused(w, [p + "attention.self." + n for n in ("query", "key", "value")], self.dtype)
            for name in _DENSE:
                self._dense[p + name] = _fused(w, [p + name], self.dtype)
        self._dense["span"] = _fused(w, ["span"], self.dtype)
        self._w = w  # embeddings and layer norms
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
        torch, w = self._torch, self._w
        F = torch.nn.functional
        b, n = ids.shape
        # Each pair keeps its tokens padded to a multiple of PAD_TO, no more: oneDNN and the
        # fused attention build and cache kernels per shape, and one shape per pair length
        # grew a process by ~680 MB in 1,500 questions (flat after ~600 with this padding).
        # A row's tokens run to its last real one (holes before it are hidden by the key mask).
        lengths = (mask.bool() * torch.arange(1, n + 1)).amax(1).tolist()
        kept = [min(n, -(-length // PAD_TO) * PAD_TO) for length in lengths]
        rows = torch.cat([torch.arange(row * n, row * n + m) for row, m in enumerate(kept)])  # places in the batch
        positions = torch.cat([torch.arange(m) for m in kept])
        x = (
            F.embedding(ids.reshape(-1)[rows], w["bert.embeddings.word_embeddings.weight"])
            + w["bert.embeddings.position_embeddings.weight"][positions]
            + F.embedding(types.reshape(-1)[rows], w["bert.embeddings.token_type_embeddings.weight"])
        )
        x = self._norm(x, "bert.embeddings.LayerNorm")
        bounds = np.cumsum([0, *kept])
        segments = [  # each pair's (start, end) in the pack and the mask of its real keys
            (int(bounds[row]), int(bounds[row + 1]), mask[row, : kept[row]].bool().view(1, 1, 1, -1)) for row in range(b)
        ]
        for i in range(self.layers):
            x = self._layer(x, segments, f"bert.encoder.layer.{i}.")
        logits = torch.full((b * n, 2), -1e4)
        logits[rows] = self._linear(x, "span").float()
        logits = logits.view(b, n, 2).masked_fill(~allowed[..., None], -1e4)
        return logits[..., 0], logits[..., 1]

    def _layer(self, x, segments, p: str):
        torch = self._torch
        F = torch.nn.functional
        tokens, dim = x.shape
        size = dim // self.heads
        qkv = self._linear(x, p + "qkv")
        context = qkv.new_empty(tokens, dim)
        for start, end, real_keys in segments:  # each pair attends to its own real tokens only
            # (3, 1, heads, tokens, size): 4-d, the shape torch's fused CPU attention takes
            query, key, value = qkv[start:end].view(1, end - start, 3, self.heads, size).permute(2, 0, 3, 1, 4)
            attended = F.scaled_dot_product_attention(query, key, value, attn_mask=real_keys)
            context[start:end] = attended[0].transpose(0, 1).reshape(end - start, dim)
        x = self._norm(self._linear(context, p + "attention.output.dense").float() + x, p + "attention.output.LayerNorm")
        inner = F.gelu(self._linear(x, p + "intermediate.dense"))  # exact (erf) GELU, as BERT's
        return self._norm(self._linear(inner, p + "output.dense").float() + x, p + "output.LayerNorm")

    def _linear(self, x, name: str):
        weight, bias = self._dense[name]
        return self._torch.nn.functional.linear(x.to(self.dtype), weight, bias)

    def _norm(self, x, name: str):
        w = self._w
        return self._torch.nn.functional.layer_norm(x, x.shape[-1:], w[name + ".weight"], w[name + ".bias"], self.eps)


def _fused(w: dict, names: list[str], dtype) -> tuple:
    """(weight, bias) of one dense product over `names` stacked (query, key and value as
    one), in `dtype`; the float32 originals are removed from `w`."""
    import torch

    return tuple(torch.cat([w.pop(n + suffix) for n in names]).to(dtype) for suffix in (".weight", ".bias"))
