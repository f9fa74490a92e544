"""BERT's encoder in plain torch over sequences packed without padding (question time).

Used by the trained reader (`qa/reader/cross_network.py`: a question with each of its
passages) and by the question encoder on torch (`qa/index/torch_questions.py`). The same
arithmetic as transformers' `BertModel` (word + position + token-type embeddings, then
post-norm layers of self-attention and an exact-GELU MLP), tested equal to it.

Three things make it faster than a padded batch:
- **Packed tokens.** The passages read for a question differ in length (Super Bowl: mean
  141 word pieces against 223 for the longest), so a padded batch spends a third of its
  matrix products on padding. Every sequence's tokens (padded to a multiple of PAD_TO
  only) are packed into one (tokens, 384) matrix for the dense layers; attention runs per
  sequence, over its own real tokens.
- **Weights cast once.** Under bf16 the dense layers' weights are cast when loaded, not
  on every call as `torch.autocast` casts them. The residual stream and layer norms stay
  float32, as under autocast.
- **Weights laid out once.** Under bf16 they are also reordered once into oneDNN's own
  blocked layout (`F.linear` reorders a plain weight on every call), and the MLP's GELU
  runs inside its product (on the float32 sums, before rounding to bf16). Super Bowl
  `ask`, one process alternating with plain `F.linear`: p50 0.85x, p95 0.87x (model card).
"""

from __future__ import annotations

import numpy as np

from qa.index.embedding import PAD_TO

_DENSE = ("attention.output.dense", "intermediate.dense", "output.dense")


class PackedBert:
    """BERT's encoder over pairs packed as above: hidden states of the real tokens only.

    `w`: the tensors by their names in the bundled `model.safetensors` (`embeddings.*`,
    `encoder.layer.N.*`), float32; the dense layers' are taken out of it and kept in
    `dtype`, query, key and value fused into one product.
    """

    def __init__(self, w: dict, config: dict, dtype, *, prepack: bool | None = None):
        import torch

        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.dtype = dtype  # of the matrix products
        self.prepacked = _can_prepack(dtype) if prepack is None else prepack
        # Under bf16 the float32 originals would be 40 MB never read: they are dropped.
        self._dense = {}
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            self._dense[p + "qkv"] = fused(w, [p + "attention.self." + n for n in ("query", "key", "value")], dtype)
            for name in _DENSE:
                self._dense[p + name] = fused(w, [p + name], dtype)
        if self.prepacked:  # the plain copies are dropped: only the reordered ones are read
            reorder = torch.ops.mkldnn._reorder_linear_weight
            self._dense = {name: (reorder(weight, None), bias) for name, (weight, bias) in self._dense.items()}
        self._w = w  # embeddings and layer norms
        self._torch = torch

    def __call__(self, ids, mask, types):
        """ids, mask, types: (batch, n), each row's real tokens first. Returns the last
        layer's hidden states, packed (tokens, dim) float32, and `rows`, each packed
        token's place in the flattened (batch * n) input."""
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
            F.embedding(ids.reshape(-1)[rows], w["embeddings.word_embeddings.weight"])
            + w["embeddings.position_embeddings.weight"][positions]
            + F.embedding(types.reshape(-1)[rows], w["embeddings.token_type_embeddings.weight"])
        )
        x = self._norm(x, "embeddings.LayerNorm")
        bounds = np.cumsum([0, *kept])
        segments = [  # each pair's (start, end) in the pack and the mask of its real keys
            (int(bounds[row]), int(bounds[row + 1]), mask[row, : kept[row]].bool().view(1, 1, 1, -1)) for row in range(b)
        ]
        for i in range(self.layers):
            x = self._layer(x, segments, f"encoder.layer.{i}.")
        return x, rows

    def _layer(self, x, segments, p: str):
        torch = self._torch
        F = torch.nn.functional
        tokens, dim = x.shape
        size = dim // self.heads
        qkv = self.linear(x, p + "qkv")
        context = qkv.new_empty(tokens, dim)
        for start, end, real_keys in segments:  # each pair attends to its own real tokens only
            # (3, 1, heads, tokens, size): 4-d, the shape torch's fused CPU attention takes
            query, key, value = qkv[start:end].view(1, end - start, 3, self.heads, size).permute(2, 0, 3, 1, 4)
            attended = F.scaled_dot_product_attention(query, key, value, attn_mask=real_keys)
            context[start:end] = attended[0].transpose(0, 1).reshape(end - start, dim)
        x = self._norm(self.linear(context, p + "attention.output.dense").float() + x, p + "attention.output.LayerNorm")
        inner = self.linear(x, p + "intermediate.dense", gelu=True)
        return self._norm(self.linear(inner, p + "output.dense").float() + x, p + "output.LayerNorm")

    def linear(self, x, name: str, *, gelu: bool = False):
        """x @ W.T + b in `dtype`; then the exact (erf) GELU, as BERT's, when `gelu`."""
        torch = self._torch
        weight, bias = self._dense[name]
        if self.prepacked:
            post_op = ("gelu", [], "none") if gelu else ("none", [], "")  # "none": erf, not tanh
            return torch.ops.mkldnn._linear_pointwise(x.to(self.dtype), weight, bias, *post_op)
        y = torch.nn.functional.linear(x.to(self.dtype), weight, bias)
        return torch.nn.functional.gelu(y) if gelu else y

    def _norm(self, x, name: str):
        w = self._w
        return self._torch.nn.functional.layer_norm(x, x.shape[-1:], w[name + ".weight"], w[name + ".bias"], self.eps)


def _can_prepack(dtype) -> bool:
    """Whether bf16 weights can be kept in oneDNN's layout: a torch built with oneDNN, on
    a CPU whose bf16 path oneDNN runs (the reorder raises elsewhere; torch's compiler asks
    the same). Its products are then `F.linear`'s, a few values one bf16 step apart (tested)."""
    import torch

    return (
        dtype == torch.bfloat16
        and torch.backends.mkldnn.is_available()
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
        and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    )


def fused(w: dict, names: list[str], dtype) -> tuple:
    """(weight, bias) of one dense product over `names` stacked (query, key and value as
    one), in `dtype`; the float32 originals are removed from `w`."""
    import torch

    return tuple(torch.cat([w.pop(n + suffix) for n in names]).to(dtype) for suffix in (".weight", ".bias"))
