"""The cross-encoder reader (the bundled MiniLM fine-tuned on question + passage): training
learns, examples point at their answers, weights round-trip without the frozen word
embeddings, and spans come back as character offsets of the passage."""

from __future__ import annotations

import copy
import random
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


def test_similar_negatives_are_the_article_paragraph_closest_to_the_question(tok):
    """With `similar`, an answerable question's "no answer" example reads the paragraph of
    its article that shares most of its words (as retrieval would rank it), never one
    holding the answer; paragraphs of other articles are never picked."""
    from qa.reader.cross_training import Tokenized, build_examples
    from qa.reader.squad import SquadParagraph, SquadQuestion

    home = "The orchestra was founded in Vienna in 1842 by Otto Nicolai."
    question = SquadQuestion("q", "In which year was the orchestra founded by Nicolai?", ((home.index("1842"), home.index("1842") + 4),))
    paragraphs = [
        SquadParagraph(1, home, (question,)),
        SquadParagraph(1, "Rivers and mountains shape the landscape of Austria.", ()),
        SquadParagraph(1, "Nicolai conducted the orchestra in its first concerts, which were founded on Beethoven.", ()),
        SquadParagraph(1, "The orchestra recorded Nicolai in 1842 too.", ()),  # holds the answer
        SquadParagraph(2, "The orchestra was founded by Nicolai, the orchestra founded by Nicolai.", ()),
    ]
    tokens = Tokenized(tok, paragraphs, CrossConfig())
    train, _ = build_examples(paragraphs, tokens, negatives=1.0, seed=13, similar=True)
    assert [(e.paragraph, e.answerable) for e in train] == [(0, True), (2, False)]


def test_shared_norm_batches_keep_each_answer_with_its_no_answer_paragraph(tok):
    from qa.reader.cross_training import Tokenized, _unit_batches, _units, build_examples, shared_pairs
    from qa.reader.squad import read_squad

    paragraphs = read_squad(TINY_SQUAD)
    tokens = Tokenized(tok, paragraphs, CrossConfig())
    train, _ = build_examples(paragraphs, tokens, negatives=1.0, seed=13, similar=True)
    units = _units(train)
    twos = [u for u in units if len(u) == 2]
    assert twos and sorted(k for u in units for k in u) == list(range(len(train)))
    for a, b in twos:
        assert train[a].answerable and not train[b].answerable and train[a].question == train[b].question
    batches = _unit_batches(train, tokens, 8, random.Random(1))
    assert sorted(k for rows in batches for k in rows) == list(range(len(train)))
    found = 0
    for rows in batches:
        assert len(rows) <= 8
        pairs = shared_pairs(train, rows)
        found += len(pairs)
        assert all(rows[j] == rows[i] + 1 and [rows[i], rows[j]] in twos for i, j in pairs)
    assert found == len(twos)


def test_steps_with_the_shared_term_learn_a_batch(tok):
    """A few steps on one batch of answer / no-answer pairs lower the loss, shared term included."""
    import torch

    from qa.reader.cross_encoder import build_model
    from qa.reader.cross_training import (
        Tokenized, _tensors, _unit_batches, build_examples, shared_pairs, train_step, warmup_then_decay,
    )
    from qa.reader.squad import read_squad

    torch.manual_seed(13)
    paragraphs = read_squad(TINY_SQUAD)
    tokens = Tokenized(tok, paragraphs, CrossConfig())
    train, _ = build_examples(paragraphs, tokens, negatives=1.0, seed=13, similar=True)
    rows = max(_unit_batches(train, tokens, 6, random.Random(1)), key=lambda r: len(shared_pairs(train, r)))
    pairs = shared_pairs(train, rows)
    assert pairs
    model = build_model(0.0)
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=3e-4)
    schedule = warmup_then_decay(optimizer, 100, 0.0)
    batch = _tensors(train, rows, tokens)
    before = copy.deepcopy(model.state_dict())
    alone = train_step(model, optimizer, schedule, trained, batch, False)
    model.load_state_dict(before)
    optimizer = torch.optim.AdamW(trained, lr=3e-4)
    schedule = warmup_then_decay(optimizer, 100, 0.0)
    losses = [train_step(model, optimizer, schedule, trained, batch, False, pairs, 1.0) for _ in range(8)]
    assert losses[0] > alone + 0.1  # the shared term is in the loss
    assert losses[-1] < 0.5 * losses[0]


def test_shared_loss_is_one_softmax_over_both_passages():
    import torch

    from qa.reader.cross_training import shared_loss

    gen = torch.Generator().manual_seed(3)
    start, end = torch.randn(2, 6, generator=gen), torch.randn(2, 6, generator=gen)
    starts, ends = torch.tensor([2, 0]), torch.tensor([4, 0])
    got = shared_loss(start, end, starts, ends, [(0, 1)])
    both_s, both_e = torch.cat([start[0], start[1]]), torch.cat([end[0], end[1]])
    want = -(torch.log_softmax(both_s, 0)[2] + torch.log_softmax(both_e, 0)[4]) / 2
    assert torch.isclose(got, want)
    alone = -(torch.log_softmax(start[0], 0)[2] + torch.log_softmax(end[0], 0)[4]) / 2
    assert got > alone  # the other passage's tokens compete


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


def test_remembered_passage_pieces_make_the_same_pairs(tok):
    """Question time remembers each passage's word pieces (PassagePieces): the pairs are
    those made from scratch, for passages seen before, repeated in one call, and after the
    memory filled up and started over."""
    from qa.reader.cross_encoder import PassagePieces

    config = CrossConfig()
    tokenized: list[str] = []

    def counting(texts, **options):  # the tokenizer, noting what it is asked to tokenize
        tokenized.extend(texts)
        return tok(texts, **options)

    pieces = PassagePieces(counting, size=3)
    texts = ["Polly the parrot lives in the library.", "Super Bowl 50 was played at Levi's Stadium.", "é1 - ab, c."]
    for question, passages in [
        ("Where does the parrot live?", texts[:2]),
        ("Who lives there?", [texts[0], texts[0], texts[2]]),  # seen, repeated, new
        ("Where was it played?", [texts[1], "A fourth passage, past the memory's size."]),  # starts over
    ]:
        fresh = encode_pairs(tok, question, passages, config)
        remembered = encode_pairs(tok, question, passages, config, pieces=pieces)
        for a, b in zip(fresh, remembered, strict=True):
            assert a.first == b.first
            assert np.array_equal(a.ids, b.ids) and np.array_equal(a.offsets, b.offsets)
    # Each passage tokenized once: later calls found it remembered.
    assert tokenized == [texts[0], texts[1], texts[2], "A fourth passage, past the memory's size."]
    assert len(pieces._known) <= 3


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


@pytest.fixture(scope="module")
def transformers_tok():
    from transformers import AutoTokenizer

    from qa.index.embedding import bundled_model_path

    hf = AutoTokenizer.from_pretrained(bundled_model_path())
    hf.model_max_length = 1 << 30  # encode_pairs cuts pairs itself
    return hf


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    question=st.text(max_size=400),
    passages=st.lists(st.text(max_size=1500), min_size=1, max_size=3),
)
def test_pairs_are_those_transformers_tokenizer_makes(tok, transformers_tok, question, passages):
    """Question time tokenizes without transformers; training's pairs came from it."""
    ours = encode_pairs(tok, question, passages, CrossConfig())
    theirs = encode_pairs(transformers_tok, question, passages, CrossConfig())
    for a, b in zip(ours, theirs, strict=True):
        assert a.first == b.first
        np.testing.assert_array_equal(a.ids, b.ids)
        np.testing.assert_array_equal(a.offsets, b.offsets)


@pytest.mark.slow
def test_the_question_time_network_computes_what_training_built(tok):
    """CrossNetwork (plain torch) against transformers' BertModel with the shipped weights."""
    import torch

    from qa.reader.cross_encoder import batch_tensors, build_model, load_tensors
    from qa.reader.cross_network import CrossNetwork

    weights = load_reader()
    trained = build_model()
    load_tensors(trained, weights.tensors)
    trained.eval()
    texts = ["Super Bowl 50 was played on February 7, 2016, at Levi's Stadium.", "x " * 400, "Polly lives in the library."]
    ids, mask, types, allowed = batch_tensors(encode_pairs(tok, "When was Super Bowl 50 played?", texts, CrossConfig()))
    with torch.inference_mode():
        expected = trained(ids, mask, types, allowed)
        got = CrossNetwork(weights.tensors)(ids, mask, types, allowed)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g[allowed].numpy(), e[allowed].numpy(), atol=1e-4)
        assert (g[~allowed] == -1e4).all()


def test_batches_pad_to_a_few_shapes_without_changing_the_scores(tok):
    """Padding to a multiple of PAD_TO (few oneDNN kernel shapes) leaves the logits as they
    are without it: the attention mask hides the padding."""
    import torch

    from qa.index.embedding import PAD_TO
    from qa.reader.cross_encoder import batch_tensors
    from qa.reader.cross_network import CrossNetwork

    network = CrossNetwork(load_reader().tensors)
    (pair,) = encode_pairs(tok, "Who lives in the library?", ["Polly the parrot lives in the library."], CrossConfig())
    ids, mask, types, allowed = batch_tensors([pair])
    assert ids.shape[1] % PAD_TO == 0 and ids.shape[1] > len(pair.ids)
    assert mask.sum() == len(pair.ids) and not allowed[0, len(pair.ids) :].any()
    n = len(pair.ids)
    with torch.inference_mode():
        padded = network(ids, mask, types, allowed)
        tight = network(ids[:, :n], mask[:, :n], types[:, :n], allowed[:, :n])
    for p, t in zip(padded, tight):
        np.testing.assert_allclose(p[:, :n].numpy(), t.numpy(), atol=1e-4)


def test_packed_pairs_read_as_each_pair_alone_unpadded(tok):
    """Reading a question's pairs packed together gives every pair the logits it gets read
    alone with no padding at all: no attention across pairs, pad keys hidden, positions and
    token types restarting per pair, logits back in their own row. (The slow test above
    checks the same against transformers; this one needs no transformers.)"""
    import torch

    from qa.reader.cross_encoder import batch_tensors
    from qa.reader.cross_network import CrossNetwork

    network = CrossNetwork(load_reader().tensors)
    passages = ["Super Bowl 50 was played on February 7, 2016, at Levi's Stadium.", "", "x " * 400,
                "Polly the parrot lives in the library."]
    pairs = encode_pairs(tok, "Where was Super Bowl 50 played?", passages, CrossConfig())
    ids, mask, types, allowed = batch_tensors(pairs)
    assert len({int(m) for m in mask.sum(1)}) == len(pairs) and (mask.sum(1) % 32 != 0).any()
    with torch.inference_mode():
        together = network(ids, mask, types, allowed)
        for row, pair in enumerate(pairs):
            n = len(pair.ids)
            alone = network(ids[row : row + 1, :n], mask[row : row + 1, :n], types[row : row + 1, :n], allowed[row : row + 1, :n])
            for t, a in zip(together, alone):
                np.testing.assert_allclose(t[row, :n][allowed[row, :n]].numpy(), a[0][allowed[row, :n]].numpy(), atol=1e-4)
                assert (t[row][~allowed[row]] == -1e4).all()


def test_bf16_products_pick_the_spans_float32_picks(tok):
    """Question time casts the dense weights to bfloat16 once (where the CPU has it): the
    logits move by rounding only, and every pair's best start and end stay put."""
    import torch

    from qa.reader.cross_encoder import batch_tensors
    from qa.reader.cross_network import CrossNetwork

    tensors = load_reader().tensors
    text = (Path(__file__).parent / "data" / "bench" / "superbowl" / "sources" / "Super_Bowl_50.txt").read_text()
    passages = [text[a : a + size] for a, size in ((0, 775), (3152, 330), (14384, 1000), (16911, 660))]
    ids, mask, types, allowed = batch_tensors(encode_pairs(tok, "Where was Super Bowl 50 played?", passages, CrossConfig()))
    with torch.inference_mode():
        exact = CrossNetwork(tensors)(ids, mask, types, allowed)
        rounded = CrossNetwork(tensors, bf16=True)(ids, mask, types, allowed)
    for e, r in zip(exact, rounded):
        assert (e.argmax(1) == r.argmax(1)).all()
        assert (e - r)[allowed].abs().max() < 0.5  # measured: .06 median, .16 at most on Super Bowl


def test_weights_in_onednn_layout_give_the_plain_products(tok):
    """Under bf16 the dense weights are reordered once for oneDNN, and the MLP's GELU runs
    inside its product: the products are F.linear's (a few values one bf16 step apart,
    where oneDNN sums 1,536 terms in another order), and the logits move by rounding
    only (the GELU now rounds once, after it, not before and after)."""
    import torch

    from qa.index.packed_bert import _can_prepack
    from qa.reader.cross_encoder import batch_tensors
    from qa.reader.cross_network import CrossNetwork

    # The reorder needs oneDNN's bf16 path (AVX-512 or AVX-NE-CONVERT; this CI's Xeon has
    # it): elsewhere the plain products are used, never an error.
    supported = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert _can_prepack(torch.bfloat16) == supported
    torch.manual_seed(0)
    tensors = load_reader().tensors
    packed, plain = CrossNetwork(tensors, bf16=True), CrossNetwork(tensors, bf16=True, prepack=False)
    assert packed._bert.prepacked == supported and not plain._bert.prepacked
    for name, width in (("encoder.layer.0.qkv", 384), ("encoder.layer.5.output.dense", 1536)):
        x = torch.randn(176, width)
        a, b = packed._bert.linear(x, name).float(), plain._bert.linear(x, name).float()
        assert (a == b).float().mean() > 0.999  # measured: all equal for 384 terms, 1 in 7,000 off for 1,536
        torch.testing.assert_close(a, b, rtol=2**-7, atol=1e-3)  # one bf16 step at most
    text = (Path(__file__).parent / "data" / "bench" / "superbowl" / "sources" / "Super_Bowl_50.txt").read_text()
    passages = [text[a : a + size] for a, size in ((0, 775), (3152, 330), (14384, 1000), (16911, 660))]
    ids, mask, types, allowed = batch_tensors(encode_pairs(tok, "Where was Super Bowl 50 played?", passages, CrossConfig()))
    with torch.inference_mode():
        fused, apart = packed(ids, mask, types, allowed), plain(ids, mask, types, allowed)
    for f, a in zip(fused, apart):
        assert (f.argmax(1) == a.argmax(1)).all()
        assert (f - a)[allowed].abs().max() < 0.5


def test_the_default_reader_answers_without_transformers_or_sentence_transformers(tmp_path):
    """A fresh process opens a built index and answers through the shipped reader: torch,
    but neither transformers (2 s of a cold `qa ask`) nor sentence-transformers."""
    import os
    import subprocess
    import sys

    from qa.index.embedding import SentenceTransformerEmbedder
    from qa.index.indexing import build_index
    from tests.conftest import ROOT, SEEDS

    build_index(SEEDS, tmp_path / "idx", embedder=SentenceTransformerEmbedder())
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from qa.pipeline import Pipeline\n"
        f"pipeline = Pipeline.open(Path({str(tmp_path / 'idx')!r}), sources=Path({str(SEEDS)!r}))\n"
        "answer = pipeline.ask('Which opposition activist was imprisoned?')\n"
        "print('ANSWERER', pipeline.answerer.split()[0], 'ANSWER', answer.text)\n"
        "print('HEAVY', [m for m in ('transformers', 'sentence_transformers', 'bm25s') if m in sys.modules])\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env)
    assert "ANSWERER reader ANSWER Alexei Navalny" in out.stdout, out.stderr
    assert "HEAVY []" in out.stdout


def test_weights_missing_a_layer_are_refused_when_opened(tmp_path):
    from qa.reader.cross_encoder import build_model, trained_tensors
    from qa.reader.weights import ReaderWeightsError

    tensors = trained_tensors(build_model())
    del tensors["bert.encoder.layer.2.attention.self.key.weight"]
    save_reader(tmp_path, tensors, CrossConfig(), {"calibration": {"scale": 1.0}})
    with pytest.raises(ReaderWeightsError, match="does not fit its network"):
        open_reader(tmp_path)
