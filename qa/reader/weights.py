"""The reader's weights on disk: safetensors (no pickle), checked by sha256 before use.

A reader folder holds `reader.safetensors` and `reader.json` (kind, shape, sha256 of the
weights, calibration, training figures). One kind: "cross-encoder" (the bundled MiniLM
fine-tuned to read question and passage together, qa/reader/cross_encoder.py); the "head"
over the index's token vectors that came before it was removed on 2026-12-05, and its
folders are refused with a message. The weights shipped inside the package are also pinned by
`SHIPPED_SHA256` here, so a damaged or swapped file is refused with a clear message, never
silently replaced by a fallback.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import QAError
from qa.index.manifest import sha256_file
from qa.reader.cross_encoder import CrossConfig

WEIGHTS_FILE = "reader.safetensors"
META_FILE = "reader.json"
SHIPPED_DIR = Path(__file__).parent / "shipped"
# sha256 of the shipped reader.safetensors (`qa train-reader` prints it for a new run).
SHIPPED_SHA256 = "1194704f256cd3d380fa8ceb4fd1805749d8a2377274ddbcb4e72983bd5ee96a"


class ReaderWeightsError(QAError):
    """The reader's weights are missing, damaged or not the ones expected."""


@dataclass(frozen=True)
class Calibration:
    """confidence = sigmoid(scale * margin + bias): a probability that the answer is right,
    fitted on held-out questions (margin = best span score minus no-answer score)."""

    scale: float = 1.0
    bias: float = 0.0
    threshold: float = 0.5  # the confidence that did best on held-out articles (heldout.best_threshold)
    rank_penalty: float = 0.0  # subtracted from a span's margin per rank of its passage
    heldout: dict | None = None  # the figures of that held-out run

    def confidence(self, margin: float) -> float:
        z = self.scale * margin + self.bias
        return float(0.5 * (1.0 + np.tanh(0.5 * z)))  # the logistic function, overflow-free


CROSS_ENCODER = "cross-encoder"


@dataclass(frozen=True)
class ReaderWeights:
    config: CrossConfig
    tensors: dict[str, np.ndarray]
    calibration: Calibration
    sha256: str
    meta: dict


def save_reader(folder: Path, tensors: dict[str, np.ndarray], config: CrossConfig, meta: dict) -> str:
    """Write weights and description atomically (temp files renamed); returns the sha256.
    float16 tensors stay float16 (the cross-encoder's, to halve the package); others float32."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(fd)
    save_file({k: np.ascontiguousarray(v, np.float16 if v.dtype == np.float16 else np.float32) for k, v in tensors.items()}, tmp)
    sha = sha256_file(Path(tmp))
    os.chmod(tmp, 0o644)  # mkstemp makes it private; weights are meant to be shipped
    os.replace(tmp, folder / WEIGHTS_FILE)
    description = {"kind": CROSS_ENCODER, "config": config.to_dict(), "sha256": sha, **meta}
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(description, f, indent=2)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, folder / META_FILE)
    return sha


def load_reader(folder: Path | None = None) -> ReaderWeights:
    """The shipped reader (default) or one trained into `folder`, its sha256 verified."""
    shipped = folder is None
    folder = SHIPPED_DIR if shipped else Path(folder)
    weights, meta_path = folder / WEIGHTS_FILE, folder / META_FILE
    if not weights.is_file() or not meta_path.is_file():
        raise ReaderWeightsError(
            f"no reader weights in {folder}: reinstall qa, or train them with `qa train-reader`"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        kind = meta.get("kind", "head")  # the head reader's files did not say
        if kind == "head":
            raise ReaderWeightsError(
                f"the reader in {folder} is a 'head' reader, which this qa no longer reads: "
                "use the shipped reader, or train one with `qa train-reader`"
            )
        if kind != CROSS_ENCODER:
            raise ReaderWeightsError(f"the reader in {folder} is of an unknown kind {kind!r}: upgrade qa, or retrain it")
        config = CrossConfig(**meta["config"])
        expected = SHIPPED_SHA256 if shipped and SHIPPED_SHA256 else meta["sha256"]
        calibration = Calibration(**meta.get("calibration", {}))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReaderWeightsError(f"{meta_path} is damaged ({exc}): reinstall qa or retrain the reader") from exc
    actual = sha256_file(weights)
    if actual != expected:
        raise ReaderWeightsError(
            f"{weights} does not match its sha256 (expected {expected[:12]}..., got {actual[:12]}...): "
            "the file is damaged or was replaced; reinstall qa or retrain with `qa train-reader`"
        )
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ReaderWeightsError(f"{weights} cannot be read ({exc}): reinstall qa") from exc
    return ReaderWeights(config, tensors, calibration, actual, meta)


@dataclass(frozen=True)
class LoadedReader:
    """The reader ready for questions: its network and its confidence calibration."""

    network: object  # qa.reader.cross_encoder.CrossReader (or a test's stand-in)
    calibration: Calibration
    sha256: str


_loaded: dict[str, LoadedReader] = {}


def open_reader(folder: Path | None = None) -> LoadedReader:
    """Load (once per process and folder) and verify a reader; the shipped one by default."""
    from qa.reader.cross_encoder import CrossReader

    key = str(folder or SHIPPED_DIR)
    if key not in _loaded:
        weights = load_reader(folder)
        try:
            network = CrossReader(weights.tensors, weights.config)
        except (ValueError, KeyError, RuntimeError) as exc:
            raise ReaderWeightsError(f"the reader in {folder or SHIPPED_DIR} does not fit its network ({exc}): retrain it") from exc
        _loaded[key] = LoadedReader(network, weights.calibration, weights.sha256)
    return _loaded[key]
