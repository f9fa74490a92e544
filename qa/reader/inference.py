"""The reader's forward pass in NumPy, for question time.

The same arithmetic as `qa.reader.model.Reader` (a test checks they agree to 1e-4), without
importing torch: a question reads ~10 passages through a network of ~0.3M weights, a few
milliseconds on one core, and the process that answers needs no training framework.
"""

from __future__ import annotations

import numpy as np

from qa.reader.model_config import ReaderConfig


def _linear(x, w, prefix):
    """x @ W.T + b, as one 2-D product (a stacked product broadcasting W is far slower)."""
    out = x.reshape(-1, x.shape[-1]) @ w[f"{prefix}.weight_t"]
    out += w[f"{prefix}.bias"]
    return out.reshape(*x.shape[:-1], out.shape[-1])


def _layer_norm(x, w, prefix, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + np.float32(eps)) * w[f"{prefix}.weight"] + w[f"{prefix}.bias"]


def _relu(x):
    return np.maximum(x, np.float32(0))


def _softmax(x, axis):
    """Softmax in place (x is a fresh temporary wherever this is called)."""
    x -= x.max(axis=axis, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=axis, keepdims=True)
    return x


class NumpyReader:
    """Scores passages for one question: start, end and no-answer logits per passage."""

    def __init__(self, weights: dict[str, np.ndarray], config: ReaderConfig):
        self.w = {k: np.asarray(v, np.float32) for k, v in weights.items()}
        for name in [k for k in self.w if k.endswith(".weight") and self.w[k].ndim == 2]:
            self.w[f"{name}_t"] = np.ascontiguousarray(self.w[name].T)
        for name in [k for k in self.w if k.endswith(".conv.weight")]:
            out_dim, in_dim, kernel = self.w[name].shape  # torch Conv1d: (out, in, width)
            # As one product: row j*in + i of the flat matrix multiplies input channel i
            # at offset j of the window.
            self.w[f"{name}_t"] = np.ascontiguousarray(self.w[name].transpose(2, 1, 0).reshape(kernel * in_dim, out_dim))
        self.config = config

    def __call__(self, passage, passage_mask, matches, question, question_mask):
        """Same shapes as Reader.forward, as float32/bool NumPy arrays."""
        w = self.w
        neg = np.float32(-1e30)
        question_t = np.ascontiguousarray(question.transpose(0, 2, 1))
        best = passage @ question_t
        best = np.where(question_mask[:, None, :], best, -1.0).max(axis=2)[..., None]
        p = _linear(passage, w, "project")
        q = _linear(question, w, "project")
        scores = p @ np.ascontiguousarray(q.transpose(0, 2, 1))
        scores *= np.float32(1 / np.sqrt(p.shape[-1]))
        scores += np.where(question_mask, np.float32(0), neg)[:, None, :]
        aligned = _softmax(scores, 2) @ q
        pool = _linear(q, w, "question_pool")[..., 0]
        pool = np.where(question_mask, pool, neg)
        summary = (_softmax(pool, 1)[..., None] * q).sum(axis=1)
        x = np.concatenate([p, aligned, p * aligned, p * summary[:, None, :], matches, best], axis=-1)
        x = _linear(x, w, "fuse") + w["position.weight"][: x.shape[1]][None]
        for i in range(self.config.convs):
            x = self._conv(x, passage_mask, f"convs.{i}")
        bias = np.where(passage_mask, np.float32(0), neg)[:, None, None, :]  # (B, 1, 1, L)
        for i in range(self.config.layers):
            x = self._block(x, bias, f"blocks.{i}")
        x = _layer_norm(x, w, "norm")
        start = (_linear(x, w, "start") @ summary[..., None])[..., 0]
        end = (_linear(x, w, "end") @ summary[..., None])[..., 0]
        start = np.where(passage_mask, start, -np.inf)
        end = np.where(passage_mask, end, -np.inf)
        maxed = np.where(passage_mask[..., None], x, -np.inf).max(axis=1)
        mean = np.where(passage_mask[..., None], x, np.float32(0)).sum(1) / np.maximum(passage_mask.sum(1, keepdims=True), 1).astype(np.float32)
        h = _relu(_linear(np.concatenate([maxed, mean, summary], -1), w, "no_answer.0"))
        no_answer = _linear(h, w, "no_answer.2")
        return start, end, no_answer

    def _conv(self, x, mask, prefix):
        w = self.w
        b, n, d = x.shape
        k = self.config.kernel
        y = _layer_norm(x, w, f"{prefix}.norm") * mask[..., None]
        padded = np.zeros((b, n + k - 1, d), np.float32)
        padded[:, k // 2 : k // 2 + n] = y
        windows = np.concatenate([padded[:, j : j + n] for j in range(k)], axis=-1)  # (b, n, k*d)
        return x + _relu(_linear(windows, w, f"{prefix}.conv"))

    def _block(self, x, bias, prefix):
        w = self.w
        b, n, d = x.shape
        h = self.config.heads
        qkv = _linear(_layer_norm(x, w, f"{prefix}.norm1"), w, f"{prefix}.qkv")
        # Contiguous operands: NumPy hands stacked matrix products to BLAS only then (a
        # transposed view falls back to a loop ~10x slower).
        qkv = np.ascontiguousarray(qkv.reshape(b, n, 3, h, d // h).transpose(2, 0, 3, 4, 1))  # (3, b, h, dh, n)
        queries = np.ascontiguousarray(qkv[0].transpose(0, 1, 3, 2))
        attn = queries @ qkv[1]
        attn *= np.float32(1 / np.sqrt(d // h))
        attn += bias
        attn = _softmax(attn, -1)
        y = (attn @ np.ascontiguousarray(qkv[2].transpose(0, 1, 3, 2))).transpose(0, 2, 1, 3).reshape(b, n, d)
        x = x + _linear(y, w, f"{prefix}.out")
        m = _linear(_relu(_linear(_layer_norm(x, w, f"{prefix}.norm2"), w, f"{prefix}.mlp.0")), w, f"{prefix}.mlp.2")
        return x + m
