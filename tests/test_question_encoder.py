"""The NumPy question encoder computes what sentence-transformers computes, without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from qa.index.embedding import SentenceTransformerEmbedder, _model_path
from qa.index.question_encoder import NumpyMiniLM, load_safetensors
from tests.conftest import BENCH, ROOT, SEEDS

QUESTIONS = [
    json.loads(line)["question"]
    for line in (BENCH / "superbowl" / "questions.jsonl").read_text().splitlines()[:40]
    if line
] + [
    "x",
    "Who?",
    "naïve café in 東京 🙂 — what's the ﬁrst «quote»?",
    "word " * 300,  # past the 256-piece window: truncated as the index truncates
    "   leading and trailing white space   ",
]
HEAVY = ("torch", "sentence_transformers", "transformers", "scipy", "sklearn", "bm25s")


@pytest.fixture(scope="module")
def encoder():
    return NumpyMiniLM(_model_path())


@pytest.fixture(scope="module")
def torch_model():
    """The reference: sentence-transformers' own model, on fp32."""
    embedder = SentenceTransformerEmbedder(bf16=False)
    return embedder._load()


def _torch_reference(model, text: str, layer: int | None = None):
    """sentence-transformers' pooled vector and one layer's unit token vectors of `text`."""
    import torch

    features = model.tokenizer([text], truncation=True, max_length=model.max_seq_length,
                               return_offsets_mapping=True, return_tensors="pt")
    offsets = features.pop("offset_mapping")[0].numpy()
    with torch.inference_mode():
        pooled = model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]
        hidden = model[0].auto_model(**features, output_hidden_states=True).hidden_states
    tokens = hidden[-1 if layer is None else layer][0].numpy()
    real = offsets[:, 1] > offsets[:, 0]
    tokens = tokens[real] / np.linalg.norm(tokens[real], axis=1, keepdims=True)
    return pooled, tokens, offsets[real]


def _torch_encoder():
    from qa.index.torch_questions import TorchMiniLM

    return TorchMiniLM(_model_path())


@pytest.mark.parametrize(
    "make, min_cosine, max_token_error",
    [
        (lambda: NumpyMiniLM(_model_path()), 0.999, 1e-4),  # float32, as the reference: measured .9999998, 4e-7
        # what the reader's process uses (qa.index.torch_questions): bf16 products, measured .99994 and .0027
        (_torch_encoder, 0.9995, 0.01),
    ],
    ids=["numpy", "torch-bf16"],
)
def test_vectors_equal_sentence_transformers(torch_model, make, min_cosine, max_token_error):
    encoder = make()
    worst_cosine, worst_token = 1.0, 0.0
    for question in QUESTIONS:
        pooled, tokens, spans = _torch_reference(torch_model, question)
        encoded = encoder.encode(question)
        assert encoded.vector.dtype == np.float32 and encoded.token_vectors.dtype == np.float32
        np.testing.assert_array_equal(encoded.token_spans, spans)
        worst_cosine = min(worst_cosine, float(encoded.vector @ pooled))
        worst_token = max(worst_token, float(np.abs(encoded.token_vectors - tokens).max()))
    assert worst_cosine >= min_cosine
    assert worst_token <= max_token_error


def test_the_reader_s_process_encodes_questions_on_torch_in_bf16():
    """The encoder the embedder hands a process that loaded the reader: bf16 products
    (not float32 ones, which would be within 1e-6 of the NumPy pass)."""
    vector, _ = SentenceTransformerEmbedder(bf16=True).questions_on_torch().embed_query(QUESTIONS[0])
    np.testing.assert_array_equal(vector, _torch_encoder().encode(QUESTIONS[0]).vector)
    # bf16 rounding: ~9e-4 from the float32 vector (measured); float32 products would be ~1e-7
    assert np.abs(vector - NumpyMiniLM(_model_path()).encode(QUESTIONS[0]).vector).max() > 1e-4


def test_the_embedder_answers_questions_through_it(encoder, torch_model):
    """`embed_query` is the NumPy pass, and agrees with the index's own (torch) vectors."""
    embedder = SentenceTransformerEmbedder(bf16=False)
    for question in QUESTIONS[:20]:
        vector, tokens = embedder.embed_query(question)
        np.testing.assert_array_equal(vector, encoder.encode(question).vector)
        indexed, _, indexed_tokens = embedder.embed_with_tokens([question], [[]])
        assert float(vector @ indexed[0]) >= 0.999
        np.testing.assert_allclose(tokens.vectors, indexed_tokens[0].vectors, atol=1e-4)
        np.testing.assert_array_equal(tokens.spans, indexed_tokens[0].spans)


def test_questions_stay_on_numpy_without_native_bf16_or_for_an_earlier_layer():
    for embedder in (SentenceTransformerEmbedder(bf16=False), SentenceTransformerEmbedder(bf16=True, token_layer=3)):
        assert embedder.questions_on_torch() is embedder


@pytest.mark.parametrize("layer", [0, 3, 5])
def test_an_earlier_layer_can_give_the_token_vectors(torch_model, layer):
    encoder = NumpyMiniLM(_model_path(), token_layer=layer)
    question = "Which halftime performer headlined Super Bowl 50?"
    pooled, tokens, _ = _torch_reference(torch_model, question, layer=layer)
    encoded = encoder.encode(question)
    np.testing.assert_allclose(encoded.token_vectors, tokens, atol=1e-4)
    assert float(encoded.vector @ pooled) >= 0.999  # the pooled vector stays the last layer's
    last = NumpyMiniLM(_model_path()).encode(question).token_vectors
    assert np.abs(encoded.token_vectors - last).max() > 0.1  # another layer, not the last


def test_index_and_question_tokens_come_from_the_same_chosen_layer():
    embedder = SentenceTransformerEmbedder(bf16=False, token_layer=3)
    question = "Which halftime performer headlined Super Bowl 50?"
    _, tokens = embedder.embed_query(question)
    _, _, indexed = embedder.embed_with_tokens([question], [[]])
    np.testing.assert_allclose(tokens.vectors, indexed[0].vectors, atol=1e-4)
    last = SentenceTransformerEmbedder(bf16=False).embed_with_tokens([question], [[]])[2][0]
    assert np.abs(indexed[0].vectors - last.vectors).max() > 0.1


def test_a_layer_outside_the_model_is_refused():
    with pytest.raises(ValueError, match="0..6"):
        NumpyMiniLM(_model_path(), token_layer=7)


def test_weights_are_memory_mapped_views_equal_to_safetensors():
    from safetensors.numpy import load_file

    path = os.path.join(_model_path(), "model.safetensors")
    mapped, loaded = load_safetensors(path), load_file(path)
    assert mapped.keys() == loaded.keys()
    for name, array in loaded.items():
        np.testing.assert_array_equal(mapped[name], array, err_msg=name)
    assert not mapped["embeddings.word_embeddings.weight"].flags.writeable


def test_the_extractor_answers_without_torch_scipy_or_bm25s(tmp_path):
    """A fresh process opens a built index and answers with the extractor: none of the
    heavy libraries load (the trained reader, the default, needs torch)."""
    from qa.index.indexing import build_index

    build_index(SEEDS, tmp_path / "idx", embedder=SentenceTransformerEmbedder())
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from qa.pipeline import Pipeline\n"
        f"pipeline = Pipeline.open(Path({str(tmp_path / 'idx')!r}), sources=Path({str(SEEDS)!r}), reader='extractor')\n"
        "answer = pipeline.ask('Which opposition activist was imprisoned?')\n"
        "print('ANSWER', answer.text)\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env)
    assert "ANSWER Alexei Navalny" in out.stdout, out.stderr
    assert "HEAVY []" in out.stdout
