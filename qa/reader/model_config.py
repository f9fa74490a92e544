"""The reader's shape, shared by the PyTorch network and the NumPy one (no torch import)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ReaderConfig:
    dim_in: int = 384  # the embedding model's token vectors
    dim: int = 96
    heads: int = 4
    convs: int = 4  # residual convolutions before the transformer layers (local context)
    kernel: int = 5  # their width in tokens
    layers: int = 2
    max_tokens: int = 256  # the embedding model's window
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)
