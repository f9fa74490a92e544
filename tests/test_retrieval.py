"""Hybrid retrieval: fusion of dense and BM25 scores plus the best sentence's cosine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.answer.retrieval import HybridRetriever
from qa.index.indexing import build_index, load_index

PARAGRAPHS = [
    "The lighthouse keeper lit the lamp every evening. The tower stood on a granite rock.",
    "The bakery sold rye bread and almond cakes. Its oven was fired with beech wood.",
    "Ferries crossed the strait twice a day. In winter storms closed the harbour for weeks.",
]


@pytest.fixture
def index(tmp_path: Path, fake_embedder):
    sources = tmp_path / "src"
    sources.mkdir()
    for i, text in enumerate(PARAGRAPHS):
        (sources / f"{i}.txt").write_text(text + "\n")
    build_index(sources, tmp_path / "idx", embedder=fake_embedder)
    return load_index(tmp_path / "idx", embedder=fake_embedder)


def test_best_first_with_k_honoured(index, fake_embedder):
    retriever = HybridRetriever(index, fake_embedder)
    passages = retriever.retrieve("What wood fired the bakery oven?", 2)
    assert len(passages) == 2
    assert passages[0].source == "1.txt"
    assert passages[0].score >= passages[1].score
    assert retriever.retrieve("anything", 0) == []


def test_scores_are_the_documented_mix(index, fake_embedder):
    question = "When did storms close the harbour?"
    plain = HybridRetriever(index, fake_embedder, dense_weight=0.5, sentence_weight=0.0)
    for p in plain.retrieve(question, 3):
        assert p.score == pytest.approx(0.5 * p.dense_score + 0.5 * p.lexical_score, abs=1e-5)
    with_sentences = HybridRetriever(index, fake_embedder, dense_weight=0.5, sentence_weight=1.0)
    query = fake_embedder.embed([question])[0]
    for p in with_sentences.retrieve(question, 3, query_vector=query):
        rows = index.sentence_rows_within(p.source, p.start, p.end)
        best = float((index.sentence_vectors[rows.start : rows.stop].astype(np.float32) @ query).max())
        assert p.score == pytest.approx(0.5 * p.dense_score + 0.5 * p.lexical_score + best, abs=1e-3)


def test_a_question_with_no_known_word_still_ranks_by_vectors(index, fake_embedder):
    passages = HybridRetriever(index, fake_embedder).retrieve("zzz qqq", 3)
    assert len(passages) == 3
    assert all(p.lexical_score == 0 for p in passages)
