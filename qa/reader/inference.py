"""The reader's forward pass in NumPy, for question time.

The same arithmetic as `qa.reader.model.Reader` (a test checks they agree to 1e-4), without
importing torch: a question reads ~10 passages through a network of ~0.3M weights, a few
milliseconds on one core, and the process that answers needs no training framework.
"""

from __future__ import annotations

import numpy as np

from qa.reader.model_config import ReaderConfig


def _linear(x, w, prefix):
    return x @ w[f"{prefix}.weight"].T + w[f"{prefix}.bias"]


def _layer_norm(x, w, prefix, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + np.float32(eps)) * w[f"{prefix}.weight"] + w[f"{prefix}.bias"]


def _relu(x):
    return np.maximum(x, np.float32(0))


def _softmax(x, axis):
    x = x - x.max(axis=axis, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


class NumpyReader:
    """Scores passages for one question: start, end and no-answer logits per passage."""

    def __init__(self, weights: dict[str, np.ndarray], config: ReaderConfig):
        self.w = {k: np.asarray(v, np.float32) for k, v in weights.items()}
        self.config = config

    def __call__(self, passage, passage_mask, matches, question, question_mask):
        """Same shapes as Reader.forward, as float32/bool NumPy arrays."""
        w = self.w
        neg = np.float32(-1e30)
        best = passage @ question.transpose(0, 2, 1)
        best = np.where(question_mask[:, None, :], best, -1.0).max(axis=2)[..., None]
        p = _linear(passage, w, "project")
        q = _linear(question, w, "project")
        scores = (p @ q.transpose(0, 2, 1)) * np.float32(1 / np.sqrt(p.shape[-1]))
        scores = np.where(question_mask[:, None, :], scores, neg)
        aligned = _softmax(scores, 2) @ q
        pool = _linear(q, w, "question_pool")[..., 0]
        pool = np.where(question_mask, pool, neg)
        summary = (_softmax(pool, 1)[..., None] * q).sum(axis=1)
        x = np.concatenate([p, aligned, p * aligned, p * summary[:, None, :], matches, best], axis=-1)
        x = _linear(x, w, "fuse") + w["position.weight"][: x.shape[1]][None]
        for i in range(self.config.layers):
            x = self._block(x, passage_mask, f"blocks.{i}")
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

    def _block(self, x, mask, prefix):
        w = self.w
        b, n, d = x.shape
        h = self.config.heads
        qkv = _linear(_layer_norm(x, w, f"{prefix}.norm1"), w, f"{prefix}.qkv")
        qkv = qkv.reshape(b, n, 3, h, d // h).transpose(2, 0, 3, 1, 4)
        attn = (qkv[0] @ qkv[1].transpose(0, 1, 3, 2)) * np.float32(1 / np.sqrt(d // h))
        attn = _softmax(np.where(mask[:, None, None, :], attn, np.float32(-1e30)), -1)
        y = (attn @ qkv[2]).transpose(0, 2, 1, 3).reshape(b, n, d)
        x = x + _linear(y, w, f"{prefix}.out")
        m = _linear(_relu(_linear(_layer_norm(x, w, f"{prefix}.norm2"), w, f"{prefix}.mlp.0")), w, f"{prefix}.mlp.2")
        return x + m
