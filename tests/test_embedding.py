"""The bundled model: offline, unit vectors, bf16 agreeing with fp32, pooled sentence vectors."""

from __future__ import annotations

import numpy as np

from qa.index.embedding import SentenceTransformerEmbedder, _pool_spans, bf16_supported
from tests.conftest import SUPERBOWL_SOURCES

PARAGRAPHS = [p for p in (SUPERBOWL_SOURCES / "Super_Bowl_50.txt").read_text().split("\n\n") if p.strip()][:24]


def test_vectors_are_unit_length_and_384_wide(real_embedder):
    vectors = real_embedder.embed(PARAGRAPHS[:5])
    assert vectors.shape == (5, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_order_is_kept_whatever_the_lengths(real_embedder):
    texts = ["short", PARAGRAPHS[0], "a bit longer text here", PARAGRAPHS[1]]
    together = real_embedder.embed(texts)
    alone = np.stack([real_embedder.embed([t])[0] for t in texts])
    assert np.min(np.sum(together * alone, axis=1)) > 0.999


def test_bf16_vectors_agree_with_fp32():
    # Runs everywhere: without native bfloat16 autocast is emulated (slow) but still valid.
    fp32 = SentenceTransformerEmbedder(bf16=False).embed(PARAGRAPHS)
    bf16 = SentenceTransformerEmbedder(bf16=True).embed(PARAGRAPHS)
    assert np.min(np.sum(fp32 * bf16, axis=1)) >= 0.9995


def test_bf16_is_chosen_from_the_cpu_flags():
    assert SentenceTransformerEmbedder().bf16 == bf16_supported()


def test_span_vectors_are_pooled_from_the_text(real_embedder):
    text = "The Broncos defeated the Panthers. Coldplay headlined the halftime show."
    cut = text.index(" Coldplay")
    vectors, spans = real_embedder.embed_with_spans([text, "no spans"], [[(0, cut), (cut + 1, len(text))], []])
    assert spans[0].shape == (2, 384) and spans[1].shape == (0, 384)
    np.testing.assert_allclose(vectors, real_embedder.embed([text, "no spans"]), atol=2e-3)
    music, football = real_embedder.embed(["Which band played the halftime show?", "Who won the football game?"])
    assert spans[0][1] @ music > spans[0][0] @ music
    assert spans[0][0] @ football > spans[0][1] @ football


def test_word_pieces_exclude_special_tokens(real_embedder):
    assert real_embedder.count_word_pieces("hello world") == 2


def test_a_question_is_embedded_as_a_text_is(real_embedder):
    question = "Who headlined the halftime show?"
    vector = real_embedder.embed_query(question)
    assert vector.shape == (384,) and vector.dtype == np.float32
    np.testing.assert_allclose(vector, real_embedder.embed([question])[0], atol=1e-4)
    vectors, spans = real_embedder.embed_with_spans([question], [[]])
    np.testing.assert_allclose(vectors, real_embedder.embed([question]), atol=2e-3)
    assert spans[0].shape == (0, 384)


def test_pooled_span_is_the_unit_mean_of_the_tokens_it_overlaps():
    tokens = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 3.0]], np.float32)
    token_spans = np.array([[0, 3], [4, 8], [9, 12]], np.int64)  # "The Broncos won"-like
    fallback = np.array([0.6, 0.8], np.float32)
    pooled = _pool_spans(tokens, token_spans, [(0, 8), (5, 6), (3, 4), (8, 10)], fallback)
    np.testing.assert_allclose(pooled[0], [2**-0.5, 2**-0.5], atol=1e-6)  # tokens 0 and 1
    np.testing.assert_allclose(pooled[1], [0.0, 1.0], atol=1e-6)  # inside token 1 only
    np.testing.assert_allclose(pooled[2], fallback)  # white space: no token, the text's vector
    np.testing.assert_allclose(pooled[3], [0.0, 1.0], atol=1e-6)  # touches token 2 only
    assert _pool_spans(tokens, token_spans, [], fallback).shape == (0, 2)
    assert _pool_spans(tokens[:0], token_spans[:0], [(0, 5)], fallback).tolist() == [fallback.tolist()]
