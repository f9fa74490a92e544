"""The cross-encoder reader: the bundled MiniLM fine-tuned to read a question with a passage.

Input is `[CLS] question [SEP] passage [SEP]`, every layer attends across both, and a
linear layer on the last one gives each passage word piece a start and an end logit;
"no answer" is the [CLS] position (Devlin et al. 2019's SQuAD 2.0 recipe). The word
embeddings stay frozen in training, so the shipped weights leave them out (~11M weights,
float16, ~22 MB) and take them from the bundled model at load time.

Used at question time (`CrossReader.passage_spans`) and in training (`CrossReaderModel`).
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass

import numpy as np

from qa.reader.decoding import SpanScore, best_spans, paragraph_blocks

FROZEN_PREFIX = "bert.embeddings.word_embeddings."  # not trained, not shipped


@dataclass(frozen=True)
class CrossConfig:
    max_question_tokens: int = 64  # longer questions are cut (SQuAD's are ~15 word pieces)
    max_tokens: int = 384  # question + passage + 3 special tokens; index chunks are <= 256

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Encoded:
    """One (question, passage) pair as word pieces; `offsets` are the passage tokens'
    character ranges in the passage text, `first` the position of its first token."""

    ids: np.ndarray  # int32
    first: int
    offsets: np.ndarray  # (n passage tokens, 2)


class PieceTokenizer:
    """The bundled model's word-piece tokenizer (`tokenizers`, from its tokenizer.json),
    called as transformers' fast tokenizer is for the pairs here (same ids and offsets,
    tested), without importing transformers."""

    def __init__(self, path: str):
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(path)
        self._tok.no_padding()  # the bundled file pads and cuts at 128: pairs are cut by encode_pairs
        self._tok.no_truncation()
        self.cls_token_id = self._tok.token_to_id("[CLS]")
        self.sep_token_id = self._tok.token_to_id("[SEP]")

    def __call__(self, texts: list[str], *, add_special_tokens: bool = False, truncation: bool = False,
                 max_length: int | None = None, return_offsets_mapping: bool = False) -> dict:
        encodings = self._tok.encode_batch(list(texts), add_special_tokens=add_special_tokens)
        cut = max_length if truncation and max_length is not None else None
        out = {"input_ids": [e.ids[:cut] for e in encodings]}
        if return_offsets_mapping:
            out["offset_mapping"] = [e.offsets[:cut] for e in encodings]
        return out


def tokenizer() -> PieceTokenizer:
    from qa.index.embedding import bundled_model_path

    return PieceTokenizer(os.path.join(bundled_model_path(), "tokenizer.json"))


def encode_pairs(
    tok, question: str | list[str], passages: list[str], config: CrossConfig, *, pieces: PassagePieces | None = None
) -> list[Encoded]:
    """Word pieces of each pair, the question cut to its budget, the passage to the rest.
    `pieces`: the passages' word pieces, remembered from earlier questions."""
    one = isinstance(question, str)
    q_ids = tok([question] if one else question, add_special_tokens=False, truncation=True,
                max_length=config.max_question_tokens)["input_ids"]
    if one:
        q_ids = q_ids * len(passages)
    if pieces is None:
        enc = tok(passages, add_special_tokens=False, return_offsets_mapping=True)
        tokenized = list(zip(enc["input_ids"], enc["offset_mapping"]))
    else:
        tokenized = pieces(passages)
    out = []
    for q, (p, offsets) in zip(q_ids, tokenized):
        room = config.max_tokens - len(q) - 3
        p, offsets = p[:room], offsets[:room]
        ids = np.concatenate([[tok.cls_token_id], q, [tok.sep_token_id], p, [tok.sep_token_id]]).astype(np.int32)
        out.append(Encoded(ids, len(q) + 2, np.asarray(offsets, np.int64).reshape(-1, 2)))
    return out


class PassagePieces:
    """Passages' word pieces and their offsets, remembered by text: the same chunks are
    read question after question, and tokenizing a question's five was ~2 ms of its
    ~40 (cProfile of 300 Super Bowl questions, 2026-12-05). At most `size` passages are
    kept (as arrays, ~3 KB each); past that the memory starts over with the passages
    asked for. One lock: a UI may ask from a worker thread."""

    def __init__(self, tok, size: int = 2048):
        self._tok, self._size = tok, size
        self._known: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    def __call__(self, passages: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        with self._lock:
            new = [p for p in dict.fromkeys(passages) if p not in self._known]
            if new:
                if len(self._known) + len(new) > self._size:  # start over, keeping this call's
                    self._known = {p: self._known[p] for p in passages if p in self._known}
                enc = self._tok(new, add_special_tokens=False, return_offsets_mapping=True)
                for text, ids, offsets in zip(new, enc["input_ids"], enc["offset_mapping"]):
                    self._known[text] = (np.asarray(ids, np.int32), np.asarray(offsets, np.int64).reshape(-1, 2))
            return [self._known[p] for p in passages]


def batch_tensors(pairs: list[Encoded]):
    """Padded ids, attention mask, and the mask of positions an answer may use (passage
    tokens and [CLS], which stands for "no answer").

    Padded to a multiple of PAD_TO, as index batches are: oneDNN caches kernels per input
    shape, and one shape per batch length grew a training run by ~250 MB a minute."""
    import torch

    from qa.index.embedding import PAD_TO

    n = -(-max(len(p.ids) for p in pairs) // PAD_TO) * PAD_TO
    ids = torch.zeros(len(pairs), n, dtype=torch.long)
    mask = torch.zeros(len(pairs), n, dtype=torch.long)
    allowed = torch.zeros(len(pairs), n, dtype=torch.bool)
    types = torch.zeros(len(pairs), n, dtype=torch.long)
    for k, p in enumerate(pairs):
        ids[k, : len(p.ids)] = torch.from_numpy(p.ids.astype(np.int64))
        mask[k, : len(p.ids)] = 1
        allowed[k, 0] = True
        allowed[k, p.first : p.first + len(p.offsets)] = True
        types[k, p.first : len(p.ids)] = 1
    return ids, mask, types, allowed


def build_model(dropout: float = 0.1):
    """The network, initialised from the bundled MiniLM (the span layer small and random);
    `dropout` replaces the model's own (0.1) in every layer, attention included."""
    import torch

    from qa.index.embedding import bundled_model_path, offline_hub

    offline_hub()
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # no "Loading weights" bar

    class CrossReaderModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = AutoModel.from_pretrained(
                bundled_model_path(), hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout
            )
            self.span = torch.nn.Linear(self.bert.config.hidden_size, 2)
            self.bert.embeddings.word_embeddings.weight.requires_grad_(False)

        def forward(self, ids, mask, types, allowed):
            hidden = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            logits = self.span(hidden).float().masked_fill(~allowed[..., None], -1e4)
            return logits[..., 0], logits[..., 1]

    return CrossReaderModel()


def trained_tensors(model) -> dict[str, np.ndarray]:
    """What ships: every weight but the frozen word embeddings, as float16."""
    return {
        k: v.detach().float().numpy().astype(np.float16)
        for k, v in model.state_dict().items()
        if not k.startswith(FROZEN_PREFIX)
    }


def load_tensors(model, tensors: dict[str, np.ndarray]) -> None:
    import torch

    state = {k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(FROZEN_PREFIX)]
    if missing or unexpected:
        raise ValueError(f"reader weights do not fit the network (missing {missing[:3]}, unexpected {unexpected[:3]})")


@dataclass(frozen=True, slots=True)
class PassageSpan:
    """A span the reader proposes in one passage, in characters of the passage text."""

    score: SpanScore
    start: int
    end: int


class CrossReader:
    """Question-time reading: every passage with the question, in one batch."""

    def __init__(self, tensors: dict[str, np.ndarray], config: CrossConfig):
        import torch

        from qa.index.embedding import bf16_supported
        from qa.reader.cross_network import CrossNetwork

        self.config = config
        self._tok = tokenizer()
        self._pieces = PassagePieces(self._tok)
        # plain torch (no transformers to import or build); bf16 where the CPU has it
        self._model = CrossNetwork(tensors, bf16=bf16_supported())
        self._torch = torch

    def passage_spans(self, question: str, passages: list[str], k: int) -> list[list[PassageSpan]]:
        """The k best spans of each passage, scored against its "no answer"."""
        if not passages:
            return []
        torch = self._torch
        pairs = encode_pairs(self._tok, question, passages, self.config, pieces=self._pieces)
        ids, mask, types, allowed = batch_tensors(pairs)
        with torch.inference_mode():
            start, end = self._model(ids, mask, types, allowed)
        start, end = start.float().numpy(), end.float().numpy()
        out = []
        for row, (pair, text) in enumerate(zip(pairs, passages)):
            a, n = pair.first, len(pair.offsets)
            null = np.array([start[row, 0], end[row, 0]])
            blocks = paragraph_blocks(text, pair.offsets)
            spans = best_spans(start[row, a : a + n], end[row, a : a + n], null, k, blocks)
            out.append([PassageSpan(s, int(pair.offsets[s.start, 0]), int(pair.offsets[s.end, 1])) for s in spans])
        return out
