"""all-MiniLM-L6-v2's forward pass in NumPy, for questions: no torch at question time.

Importing torch and sentence-transformers takes seconds (issue 12: 86% of a cold `qa ask`
was imports), while a question is one short sequence through a 6-layer, 384-wide BERT:
a few hundred MFLOP that NumPy runs in milliseconds. This module computes exactly what
the index's `SentenceTransformerEmbedder` computes for one text (the BERT forward of
`transformers`, mean pooling over the tokens, L2 normalisation), reading the same
bundled `model.safetensors` memory-mapped (only the question's rows of the 47 MB
word-embedding table are touched) and tokenizing with the same `tokenizer.json`. Tests
hold it to the torch vectors (cosine >= .999).

Index building keeps torch: there the batches are large and bf16 on AMX pays.
"""

from __future__ import annotations

import json
import os
import struct
import numpy as np

from qa.index.embedding import _unit_rows

MAX_SEQUENCE = 256  # sentence-transformers' max_seq_length for this model (sentence_bert_config.json)

# numpy dtype of each safetensors dtype this model uses
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def load_safetensors(path: str) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as a read-only view of one memory map.

    The format is an 8-byte little-endian header length, a JSON header (name -> dtype,
    shape, byte offsets), then the raw little-endian data. `safetensors.numpy.load_file`
    would read and copy all 90 MB; mapping touches only the pages a question uses.
    """
    with open(path, "rb") as f:
        (header_size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_size))
    # A plain ndarray view of the map: np.memmap subclass overhead on every operation
    # would cost more than the arithmetic on a short question.
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_size).view(np.ndarray)
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = np.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<")
        tensors[name] = data[begin:end].view(dtype).reshape(entry["shape"])
    return tensors


def bert_config(folder: str) -> dict:
    """The model's config.json, refused unless it is the BERT these forward passes compute
    (GELU, absolute positions)."""
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{folder} is not a BERT with GELU and absolute positions")
    return config


class NumpyMiniLM:
    """BERT encoder + mean pooling + normalisation, for one text at a time."""

    def __init__(self, folder: str):
        from tokenizers import Tokenizer

        config = bert_config(folder)
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.dim = int(config["hidden_size"])
        self.eps = float(config["layer_norm_eps"])
        self._w = load_safetensors(os.path.join(folder, "model.safetensors"))
        tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        # The bundled tokenizer.json pads and truncates at 128; the model reads 256.
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_SEQUENCE)
        self._tokenizer = tokenizer

    def encode(self, text: str) -> np.ndarray:
        """`text`'s (dim,) float32 unit vector, as the index's embedder computes it."""
        ids = np.asarray(self._tokenizer.encode(text).ids, dtype=np.int64)
        return _unit_rows(self._forward(ids).mean(axis=0, keepdims=True))[0]  # no padding: a plain mean

    def _forward(self, ids: np.ndarray) -> np.ndarray:
        """The last layer's hidden states, (n, dim) float32."""
        w = self._w
        n = len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._layer_norm(x, "embeddings.LayerNorm")
        for i in range(self.layers):
            x = self._encoder_layer(x, f"encoder.layer.{i}.")
        return x

    def _encoder_layer(self, x: np.ndarray, p: str) -> np.ndarray:
        n, heads = len(x), self.heads
        size = self.dim // heads
        q = self._linear(x, p + "attention.self.query").reshape(n, heads, size).transpose(1, 0, 2)
        k = self._linear(x, p + "attention.self.key").reshape(n, heads, size).transpose(1, 2, 0)
        v = self._linear(x, p + "attention.self.value").reshape(n, heads, size).transpose(1, 0, 2)
        scores = (q @ k) / np.float32(np.sqrt(size))  # (heads, n, n); one text: no mask
        scores -= scores.max(axis=-1, keepdims=True)
        weights = np.exp(scores)
        weights /= weights.sum(axis=-1, keepdims=True)
        context = (weights @ v).transpose(1, 0, 2).reshape(n, self.dim)
        x = self._layer_norm(self._linear(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        inner = _gelu(self._linear(x, p + "intermediate.dense"))
        return self._layer_norm(self._linear(inner, p + "output.dense") + x, p + "output.LayerNorm")

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        # torch's Linear stores (out, in); the transposed view costs no copy.
        return x @ self._w[name + ".weight"].T + self._w[name + ".bias"]

    def _layer_norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        centred = x - mean
        variance = (centred * centred).mean(axis=-1, keepdims=True)
        return centred / np.sqrt(variance + np.float32(self.eps)) * self._w[name + ".weight"] + self._w[name + ".bias"]


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x), with erf from Abramowitz & Stegun 7.1.26.

    That erf is within 1.5e-7 of the true one, far below float32 noise in the layer after;
    scipy.special.erf would be exact but importing scipy costs more than the whole pass.
    """
    z = np.abs(x) * np.float32(1 / np.sqrt(2))
    t = 1 / (1 + np.float32(0.3275911) * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1 - poly.astype(np.float32) * np.exp(-z * z)
    return x * np.float32(0.5) * (1 + np.copysign(erf, x))

