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
HEAVY = ("sentence_transformers", "transformers", "scipy", "sklearn", "bm25s")


@pytest.fixture(scope="module")
def encoder():
    return NumpyMiniLM(_model_path())


@pytest.fixture(scope="module")
def torch_model():
    """The reference: sentence-transformers' own model, on fp32."""
    embedder = SentenceTransformerEmbedder(bf16=False)
    return embedder._load()


def _torch_reference(model, text: str) -> np.ndarray:
    """sentence-transformers' own pooled unit vector of `text`."""
    return model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]


def _torch_encoder():
    from qa.index.torch_questions import TorchMiniLM

    return TorchMiniLM(_model_path())


@pytest.mark.parametrize(
    "make, min_cosine",
    [
        (lambda: NumpyMiniLM(_model_path()), 0.999),  # float32, as the reference: measured .9999998
        # what the reader's process uses (qa.index.torch_questions): bf16 products, measured .99994
        (_torch_encoder, 0.9995),
    ],
    ids=["numpy", "torch-bf16"],
)
def test_vectors_equal_sentence_transformers(torch_model, make, min_cosine):
    encoder = make()
    worst = 1.0
    for question in QUESTIONS:
        vector = encoder.encode(question)
        assert vector.dtype == np.float32 and vector.shape == (384,)
        worst = min(worst, float(vector @ _torch_reference(torch_model, question)))
    assert worst >= min_cosine


def test_the_reader_s_process_encodes_questions_on_torch_in_bf16():
    """The encoder the embedder hands a process that loaded the reader: bf16 products
    (not float32 ones, which would be within 1e-6 of the NumPy pass)."""
    vector = SentenceTransformerEmbedder(bf16=True).questions_on_torch().embed_query(QUESTIONS[0])
    np.testing.assert_array_equal(vector, _torch_encoder().encode(QUESTIONS[0]))
    # bf16 rounding: ~9e-4 from the float32 vector (measured); float32 products would be ~1e-7
    assert np.abs(vector - NumpyMiniLM(_model_path()).encode(QUESTIONS[0])).max() > 1e-4


def test_the_embedder_answers_questions_through_it(encoder, torch_model):
    """`embed_query` is the NumPy pass, and agrees with the index's own (torch) vectors."""
    embedder = SentenceTransformerEmbedder(bf16=False)
    for question in QUESTIONS[:20]:
        vector = embedder.embed_query(question)
        np.testing.assert_array_equal(vector, encoder.encode(question))
        assert float(vector @ embedder.embed([question])[0]) >= 0.999


def test_questions_stay_on_numpy_without_native_bf16():
    embedder = SentenceTransformerEmbedder(bf16=False)
    assert embedder.questions_on_torch() is embedder


def test_weights_are_memory_mapped_views_equal_to_safetensors():
    from safetensors.numpy import load_file

    path = os.path.join(_model_path(), "model.safetensors")
    mapped, loaded = load_safetensors(path), load_file(path)
    assert mapped.keys() == loaded.keys()
    for name, array in loaded.items():
        np.testing.assert_array_equal(mapped[name], array, err_msg=name)
    assert not mapped["embeddings.word_embeddings.weight"].flags.writeable


def test_answering_loads_neither_transformers_nor_scipy_nor_bm25s_and_retrieving_not_even_torch(tmp_path):
    """A fresh process opens a built index and answers: the reader runs on plain torch,
    and none of the other heavy libraries load (seconds of a cold `qa ask`)."""
    from qa.index.indexing import build_index

    build_index(SEEDS, tmp_path / "idx", embedder=SentenceTransformerEmbedder())
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from qa.pipeline import Pipeline\n"
        f"pipeline = Pipeline.open(Path({str(tmp_path / 'idx')!r}), sources=Path({str(SEEDS)!r}))\n"
        "answer = pipeline.ask('Which opposition activist was imprisoned?')\n"
        "print('ANSWER', answer.text)\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env)
    assert "ANSWER Alexei Navalny" in out.stdout, out.stderr
    assert "HEAVY []" in out.stdout
    # Retrieval alone (the NumPy question encoder, BM25's arrays) imports not even torch.
    retrieval = (
        "import sys\n"
        "from pathlib import Path\n"
        "from qa.pipeline import Pipeline\n"
        f"pipeline = Pipeline.open(Path({str(tmp_path / 'idx')!r}), sources=Path({str(SEEDS)!r}), reader=None)\n"
        "print('FOUND', len(pipeline.retrieve('Which opposition activist was imprisoned?')))\n"
        f"print('HEAVY', [m for m in {('torch', *HEAVY)!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", retrieval], capture_output=True, text=True, cwd=ROOT, env=env)
    assert "FOUND 10" in out.stdout, out.stderr
    assert "HEAVY []" in out.stdout
