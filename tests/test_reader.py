"""The trained reader: training runs and learns, the NumPy network equals the PyTorch one,
weights are verified, spans decode within bounds."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, strategies as st

from qa.reader.decoding import MAX_ANSWER_TOKENS, best_spans
from qa.reader.matching import match_features, question_words
from qa.reader.model_config import ReaderConfig
from qa.reader.weights import ReaderWeightsError, load_reader, open_reader

TINY_SQUAD = Path(__file__).parent / "data" / "reader" / "tiny-squad2.json"


@pytest.fixture(scope="module")
def tiny_features(tmp_path_factory, real_embedder):
    from qa.reader.features import extract_features, file_sha256
    from qa.reader.squad import read_squad

    paragraphs = read_squad(TINY_SQUAD)
    folder = tmp_path_factory.mktemp("features")
    return paragraphs, extract_features(paragraphs, folder, file_sha256(TINY_SQUAD), embedder=real_embedder)


@pytest.mark.slow
def test_training_a_few_steps_lowers_the_loss(tiny_features):
    from qa.reader.model_config import ReaderConfig
    from qa.reader.training import TrainSettings, train

    paragraphs, features = tiny_features
    settings = TrainSettings(epochs=20, batch_size=16, lr=3e-3, warmup=5, max_steps=60, validate_every=1000)
    _, history = train(paragraphs, features, ReaderConfig(dim=32, layers=1), settings, log=lambda line: None)
    losses = history["loss"]
    assert len(losses) == 60
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])


@pytest.mark.slow
def test_training_examples_hold_answers_unanswerable_and_other_paragraphs(tiny_features):
    from qa.reader.training import build_examples

    paragraphs, features = tiny_features
    examples = build_examples(paragraphs, features)
    kinds = np.bincount(examples.kind, minlength=3)
    assert kinds.min() > 0
    # every answer target points at tokens that cover the gold text
    for k in np.nonzero(examples.kind == 0)[0][:50]:
        row, q = examples.passage[k], examples.question[k]
        spans = np.asarray(features.passages.spans[features.passages.rows(row)])
        p, a, _ = features.passage_meta[row]
        question = [qq for para in paragraphs for qq in para.questions][q]
        gold_start, gold_end = question.answers[0]
        assert spans[examples.start[k], 0] + a <= gold_start < spans[examples.start[k], 1] + a
        assert spans[examples.end[k], 0] + a < gold_end <= spans[examples.end[k], 1] + a


def test_numpy_reader_equals_the_pytorch_network():
    import torch

    from qa.reader.inference import NumpyReader
    from qa.reader.model import Reader

    # A fresh network of the current shape (the shipped weights may predate a change of it),
    # its positions scaled up so that they matter as much as trained ones do.
    torch.manual_seed(0)
    network = Reader(ReaderConfig())
    with torch.no_grad():
        network.position.weight.mul_(20)
    network.eval()
    tensors = {k: v.numpy() for k, v in network.state_dict().items()}
    rng = np.random.default_rng(0)
    passage = rng.normal(size=(3, 40, 384)).astype(np.float32)
    passage /= np.linalg.norm(passage, axis=2, keepdims=True)
    question = rng.normal(size=(3, 9, 384)).astype(np.float32)
    question /= np.linalg.norm(question, axis=2, keepdims=True)
    p_mask = np.ones((3, 40), bool)
    p_mask[1, 25:] = False
    q_mask = np.ones((3, 9), bool)
    q_mask[2, 6:] = False
    matches = (rng.random((3, 40, 2)) < 0.2).astype(np.float32)
    with torch.inference_mode():
        expected = network(*(torch.from_numpy(a) for a in (passage, p_mask, matches, question, q_mask)))
    got = NumpyReader(tensors, network.config)(passage, p_mask, matches, question, q_mask)
    for e, g in zip(expected, got):
        e = e.numpy()
        finite = np.isfinite(e)
        assert (np.isfinite(g) == finite).all()
        np.testing.assert_allclose(g[finite], e[finite], atol=1e-4)


def test_the_shipped_weights_are_verified(tmp_path):
    from qa.reader import weights as module

    shipped = module.SHIPPED_DIR
    assert module.SHIPPED_SHA256 and load_reader().sha256 == module.SHIPPED_SHA256
    damaged = tmp_path / "damaged"
    shutil.copytree(shipped, damaged)
    data = bytearray((damaged / module.WEIGHTS_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (damaged / module.WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(ReaderWeightsError, match="does not match its sha256"):
        load_reader(damaged)
    (damaged / module.WEIGHTS_FILE).unlink()
    with pytest.raises(ReaderWeightsError, match="no reader weights"):
        load_reader(damaged)


def test_the_shipped_weights_are_small_and_described():
    from qa.reader import weights as module

    assert (module.SHIPPED_DIR / module.WEIGHTS_FILE).stat().st_size <= 40 * 1024 * 1024
    card = (module.SHIPPED_DIR / "MODEL_CARD.md").read_text()
    for needed in ("CC BY-SA 4.0", "qa train-reader", "seed", "SQuAD"):
        assert needed in card
    assert open_reader().calibration.scale > 0  # a larger margin means more confidence


@given(
    st.lists(st.floats(-20, 20), min_size=1, max_size=60),
    st.integers(0, 10**6),
    st.integers(1, 8),
)
def test_best_spans_are_ordered_within_bounds_and_best_first(start, seed, k):
    n = len(start)
    end = np.random.default_rng(seed).normal(size=n) * 5
    spans = best_spans(np.array(start), end, np.array([0.5, -0.25]), k)
    assert 1 <= len(spans) <= k
    scores = [s.span for s in spans]
    assert scores == sorted(scores, reverse=True)
    for s in spans:
        assert 0 <= s.start <= s.end < min(n, s.start + MAX_ANSWER_TOKENS)
        assert s.span == pytest.approx(start[s.start] + end[s.end])
        assert s.no_answer == pytest.approx(0.25)
    brute = max(start[i] + end[j] for i in range(n) for j in range(i, min(n, i + MAX_ANSWER_TOKENS)))
    assert spans[0].span == pytest.approx(brute)


def test_match_features_mark_the_question_words_as_written_and_stemmed():
    text = "The Broncos defeated the Panthers, winning titles."
    spans = np.array([[0, 3], [4, 11], [12, 20], [21, 24], [25, 33], [33, 34], [35, 42], [43, 49]])
    features = match_features(text, spans, question_words("Who won the title against the Panthers?"))
    assert features[:, 0].tolist() == [0, 0, 0, 0, 1, 0, 0, 0]  # "Panthers" as written; "the" is a stop word
    assert features[:, 1].tolist() == [0, 0, 0, 0, 1, 0, 0, 1]  # and "titles" by its stem


@pytest.mark.slow
def test_training_groups_read_each_question_with_its_passage_and_similar_others(tiny_features):
    from qa.reader.groups import GROUP_SIZE, build_groups

    paragraphs, features = tiny_features
    groups = build_groups(paragraphs, features)
    questions = [q for para in paragraphs for q in para.questions]
    assert groups.passage.shape == (len(groups), GROUP_SIZE)
    assert groups.answerable.any() and not groups.answerable.all()
    for g in range(len(groups)):
        question = questions[groups.question[g]]
        holding = np.nonzero(groups.start[g] >= 0)[0]
        assert len(holding) == (1 if question.answers else 0)
        assert len(set(groups.passage[g].tolist())) == GROUP_SIZE  # no passage read twice
        for slot in holding:
            row = groups.passage[g, slot]
            p, a, _ = features.passage_meta[row]
            spans = np.asarray(features.passages.spans[features.passages.rows(row)])
            gold_start, gold_end = question.answers[0]
            assert paragraphs[p].questions[0] in paragraphs[p].questions and question in paragraphs[p].questions
            assert spans[groups.start[g, slot], 0] + a <= gold_start < spans[groups.start[g, slot], 1] + a
            assert spans[groups.end[g, slot], 0] + a < gold_end <= spans[groups.end[g, slot], 1] + a
