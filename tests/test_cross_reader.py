"""The cross-encoder reader (the bundled MiniLM fine-tuned on question + passage): training
learns, examples point at their answers, weights round-trip without the frozen word
embeddings, and spans come back as character offsets of the passage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from qa.reader.cross_encoder import FROZEN_PREFIX, CrossConfig, encode_pairs, tokenizer
from qa.reader.weights import load_reader, open_reader, save_reader

TINY_SQUAD = Path(__file__).parent / "data" / "reader" / "tiny-squad2.json"


@pytest.fixture(scope="module")
def tok():
    return tokenizer()


@pytest.mark.slow
def test_training_a_few_steps_lowers_the_loss():
    from qa.reader.cross_training import CrossSettings, train_cross
    from qa.reader.squad import read_squad

    settings = CrossSettings(steps=30, batch_size=8, lr=2e-4, warmup=0.1, validate_every=1000, validation_questions=16)
    _, history = train_cross(read_squad(TINY_SQUAD), settings, log=lambda line: None)
    losses = history["loss"]
    assert len(losses) == 30
    assert np.mean(losses[-8:]) < 0.7 * np.mean(losses[:8])


def test_training_examples_point_at_their_answers(tok):
    from qa.reader.cross_training import Tokenized, build_examples
    from qa.reader.squad import read_squad

    paragraphs = read_squad(TINY_SQUAD)
    tokens = Tokenized(tok, paragraphs, CrossConfig())
    train, valid = build_examples(paragraphs, tokens, negatives=1.0, seed=13)
    questions = [q for p in paragraphs for q in p.questions]
    home = {q.id: p.context for p in paragraphs for q in p.questions}
    assert valid and {e.answerable for e in train} == {True, False}
    others = 0
    for e in train + valid:
        question, context = questions[e.question], paragraphs[e.paragraph].context
        if e.answerable:
            gold_start, gold_end = question.answers[0]
            offsets = tokens.offsets[e.paragraph]
            assert offsets[e.start, 0] <= gold_start < offsets[e.start, 1]
            assert offsets[e.end, 0] < gold_end <= offsets[e.end, 1]
        elif question.answers:  # another paragraph: must not hold the answer
            others += 1
            gold = home[question.id][slice(*question.answers[0])]
            assert gold.lower() not in context.lower()
    assert others > 0


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    question=st.text(alphabet=st.sampled_from("abc ?é1"), min_size=1, max_size=300),
    passage=st.text(alphabet=st.sampled_from("ab c\n.,é1-\u00a0'"), min_size=1, max_size=2000),
)
def test_pairs_fit_the_window_and_offsets_stay_in_the_passage(tok, question, passage):
    config = CrossConfig()
    (pair,) = encode_pairs(tok, question, [passage], config)
    assert len(pair.ids) <= config.max_tokens
    assert pair.first <= config.max_question_tokens + 2
    assert len(pair.ids) == pair.first + len(pair.offsets) + 1
    assert ((0 <= pair.offsets[:, 0]) & (pair.offsets[:, 0] <= pair.offsets[:, 1]) & (pair.offsets[:, 1] <= len(passage))).all()


def test_weights_round_trip_without_the_frozen_embeddings(tmp_path):
    from qa.reader.cross_encoder import build_model, trained_tensors

    model = build_model()
    tensors = trained_tensors(model)
    assert not any(k.startswith(FROZEN_PREFIX) for k in tensors)
    assert all(v.dtype == np.float16 for v in tensors.values())
    save_reader(tmp_path, tensors, CrossConfig(), {"calibration": {"scale": 1.0}})
    loaded = load_reader(tmp_path)
    assert isinstance(loaded.config, CrossConfig) and loaded.tensors.keys() == tensors.keys()
    assert (tmp_path / "reader.safetensors").stat().st_size < 25 * 1024 * 1024
    reader = open_reader(tmp_path).network
    text = "The parrot lives in the library. It is called Polly."
    (spans,) = reader.passage_spans("Where does the parrot live?", [text], 4)
    assert spans and all(0 <= s.start < s.end <= len(text) for s in spans)
