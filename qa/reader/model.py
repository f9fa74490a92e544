"""The reader network: start, end and "no answer" scores over a passage's token vectors.

It reads what the index already stores: the passage's contextual token vectors (the
frozen all-MiniLM-L6-v2, passage encoded alone) and the question's token vectors (from the
same forward pass that embeds the question). Since the encoder never saw the two together,
the network first aligns every passage token with the question (attention, BiDAF/DrQA
style), adds exact-match features and the token's best cosine to any question token, then
runs residual convolutions and a small transformer over the passage. (Measured on a
4,150-paragraph probe, 900 steps: the transformer alone reached span F1 .27, with two
convolutions in front .4x; the convolutions give each token its neighbourhood at once,
which attention over learned positions learns slowly. A BiGRU learned as fast but is a
sequential loop at question time.) Start and end are bilinear in the question's
summary vector; "no answer" is a learned score per passage, trained as position 0 of both
the start and the end softmax (as BERT's [CLS] on SQuAD 2.0).

Small on purpose: at question time it reads ~10 passages in a few milliseconds on one core.
"""

from __future__ import annotations

import torch
from torch import nn

from qa.reader.matching import N_MATCH_FEATURES
from qa.reader.model_config import ReaderConfig


class Reader(nn.Module):
    def __init__(self, config: ReaderConfig):
        super().__init__()
        self.config = config
        d = config.dim
        self.project = nn.Linear(config.dim_in, d)
        self.question_pool = nn.Linear(d, 1)
        self.fuse = nn.Linear(4 * d + N_MATCH_FEATURES + 1, d)
        self.position = nn.Embedding(config.max_tokens, d)
        # Small, like the other inputs: at nn.Embedding's N(0, 1) the positions drowned the
        # features (norm ~10 against ~1) and training was ~3x slower to start.
        nn.init.normal_(self.position.weight, std=0.02)
        self.convs = nn.ModuleList(_Conv(d, config.kernel, config.dropout) for _ in range(config.convs))
        self.blocks = nn.ModuleList(_Block(d, config.heads, config.dropout) for _ in range(config.layers))
        self.norm = nn.LayerNorm(d)
        self.start = nn.Linear(d, d)
        self.end = nn.Linear(d, d)
        self.no_answer = nn.Sequential(nn.Linear(3 * d, d), nn.ReLU(), nn.Linear(d, 2))
        self.drop = nn.Dropout(config.dropout)

    def forward(self, passage, passage_mask, matches, question, question_mask):
        """passage (B, L, 384) unit rows, passage_mask (B, L) bool, matches (B, L, 2),
        question (B, M, 384), question_mask (B, M) bool.

        Returns start and end logits (B, L) (-inf at padding) and no-answer logits (B, 2):
        one competing with the starts, one with the ends.
        """
        best_cosine = (passage @ question.transpose(1, 2)).masked_fill(~question_mask[:, None, :], -1.0)
        best_cosine = best_cosine.max(dim=2).values[..., None]
        p = self.drop(self.project(passage))
        q = self.drop(self.project(question))
        scores = (p @ q.transpose(1, 2)) / p.shape[-1] ** 0.5
        scores = scores.masked_fill(~question_mask[:, None, :], float("-inf"))
        aligned = torch.softmax(scores, dim=2) @ q
        pool = self.question_pool(q).squeeze(-1).masked_fill(~question_mask, float("-inf"))
        summary = (torch.softmax(pool, dim=1)[..., None] * q).sum(dim=1)  # (B, d)
        x = torch.cat([p, aligned, p * aligned, p * summary[:, None, :], matches, best_cosine], dim=-1)
        x = self.fuse(x) + self.position.weight[: x.shape[1]][None]
        for conv in self.convs:
            x = conv(x, passage_mask)
        for block in self.blocks:
            x = block(x, passage_mask)
        x = self.norm(x)
        start = (self.start(x) @ summary[..., None]).squeeze(-1)
        end = (self.end(x) @ summary[..., None]).squeeze(-1)
        start = start.masked_fill(~passage_mask, float("-inf"))
        end = end.masked_fill(~passage_mask, float("-inf"))
        masked = x.masked_fill(~passage_mask[..., None], float("-inf"))
        mean = x.masked_fill(~passage_mask[..., None], 0).sum(1) / passage_mask.sum(1, keepdim=True).clamp(min=1)
        no_answer = self.no_answer(torch.cat([masked.max(dim=1).values, mean, summary], dim=-1))
        return start, end, no_answer


class _Conv(nn.Module):
    """Pre-norm residual convolution over the passage's tokens (padding zeroed first)."""

    def __init__(self, d: int, kernel: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.conv = nn.Conv1d(d, d, kernel, padding=kernel // 2)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask):
        y = (self.norm(x) * mask[..., None].to(x.dtype)).transpose(1, 2)
        return x + self.drop(torch.relu(self.conv(y).transpose(1, 2)))


class _Block(nn.Module):
    """Pre-norm transformer layer (self-attention over the passage, then a ReLU MLP)."""

    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask):
        b, n, d = x.shape
        h = self.heads
        qkv = self.qkv(self.norm1(x)).view(b, n, 3, h, d // h).permute(2, 0, 3, 1, 4)
        attn = (qkv[0] @ qkv[1].transpose(-1, -2)) / (d // h) ** 0.5
        attn = attn.masked_fill(~mask[:, None, None, :], float("-inf")).softmax(dim=-1)
        y = (attn @ qkv[2]).transpose(1, 2).reshape(b, n, d)
        x = x + self.drop(self.out(y))
        return x + self.drop(self.mlp(self.norm2(x)))


def span_loss(start, end, no_answer, target_start, target_end):
    """Cross-entropy of start and end, "no answer" at position 0 (targets -1 = no answer)."""
    loss = 0.0
    for logits, null, target in ((start, no_answer[:, 0], target_start), (end, no_answer[:, 1], target_end)):
        full = torch.cat([null[:, None], logits], dim=1)
        loss = loss + nn.functional.cross_entropy(full, target + 1)
    return loss / 2
