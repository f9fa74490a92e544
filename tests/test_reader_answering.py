"""How the reader's answers are made (qa/answer/answering.py): abstaining on on-topic
questions the sources don't answer, two-step reading, spans widened to whole words; with
the shipped reader (real model) and with scripted stand-ins for its network. What every
answer must satisfy (abstain off topic, cite distinct verbatim alternatives...) is in
test_answering.py; quality figures are in the README and the model card."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
from hypothesis import given, strategies as st

from qa.config import READER_READ_K
from qa.answer.answering import _read_until_answered, _whole_words, read_passages
from qa.reader.cross_encoder import PassageSpan
from qa.reader.decoding import SpanScore
from qa.reader.weights import Calibration, LoadedReader
from qa.types import Chunk, Passage
from qa.pipeline import Pipeline
from tests.conftest import BENCH, SEEDS


@pytest.fixture(scope="session")
def reader_pipeline(tmp_path_factory, real_embedder) -> Pipeline:
    root = tmp_path_factory.mktemp("answering")
    sources = root / "seeds"
    shutil.copytree(SEEDS, sources)
    return Pipeline.open(root / "index", sources=sources, embedder=real_embedder, reader="shipped")


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "What is NASA's budget?",  # on topic (the ISS), not in the sources: answered "partners" before the reader
        "How many astronauts are on the ISS right now?",
    ],
)
def test_on_topic_questions_the_sources_do_not_answer_abstain(reader_pipeline, question):
    answer = reader_pipeline.ask(question)
    assert answer.abstained, (answer.text, answer.confidence)
    assert answer.reason
    assert answer.passages


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "How much would Russia's new space station cost?",  # "$6 billion", not also "around $6 billion"
        "Which opposition activist was imprisoned?",  # "Alexei Navalny", not also "Alexei Navalny and Russia"
    ],
)
def test_alternatives_are_other_answers_not_the_same_one_cut_differently(reader_pipeline, question):
    answer = reader_pipeline.ask(question)
    spans = [(c.citation.source, c.citation.start, c.citation.end) for c in (answer.best, *answer.alternatives)]
    for i, (source, start, end) in enumerate(spans):
        for other, a, b in spans[:i]:
            assert other != source or end <= a or b <= start, (answer.text, [c.text for c in answer.alternatives])


def test_beside_the_cross_encoder_questions_are_encoded_on_torch(reader_pipeline, tmp_path_factory, real_embedder):
    """Where the CPU has native bf16 (the reader's process loads torch anyway); opened for
    retrieval only, the NumPy encoder, torch-free."""
    from qa.index.embedding import bf16_supported

    on_torch = type(real_embedder.questions_on_torch())
    assert (on_torch is not type(real_embedder)) == bf16_supported()
    assert type(reader_pipeline._questions) is on_torch
    retrieval = Pipeline.open(reader_pipeline.index_dir, embedder=real_embedder, reader=None)
    assert retrieval._questions is real_embedder
    question = "In what year was the ISS launched?"
    assert [p.row for p in reader_pipeline.retrieve(question)] == [p.row for p in reader_pipeline.ask(question).passages]
    assert len(retrieval.retrieve(question)) == retrieval.settings.top_k
    with pytest.raises(TypeError, match="retrieval only"):
        retrieval.ask(question)


@pytest.mark.slow
def test_the_passages_after_the_first_two_are_read_only_when_those_do_not_answer(reader_pipeline):
    """Two passages are read, and the next two (up to READER_READ_K) only when no answer
    there reaches the threshold; a passage's spans score as in one read of all four (same
    rank penalty)."""
    pipeline = reader_pipeline
    reader, index = pipeline._reader, pipeline._index
    threshold = reader.calibration.threshold
    questions = [json.loads(line)["question"] for line in (BENCH / "seeds-dev.jsonl").read_text().splitlines()]
    questions += ["What is NASA's budget?", "Where does the parrot live?"]
    network = reader.network
    asked: list[int] = []

    class Counting:  # the reader's network, counting the passages it is given
        def passage_spans(self, question, passages, k):
            asked.append(len(passages))
            return network.passage_spans(question, passages, k)

    counting = replace(reader, network=Counting())
    outcomes = set()
    for question in questions:
        read = pipeline.retrieve(question)[:READER_READ_K]  # as `ask` retrieves them
        assert len(read) == READER_READ_K == 4 and all(p.text for p in read)
        everything = read_passages(network, question, read, index, reader.calibration.rank_penalty)
        asked.clear()
        got, read_count = _read_until_answered(counting, question, read, index, 2, threshold)
        stopped = asked == [2]
        assert read_count == (2 if stopped else 4)
        assert pipeline.ask(question).read == read_count  # what `ask` says it read
        assert stopped or asked == [2, 2], asked
        assert stopped == (reader.calibration.confidence(max(r.margin for r in got if r.passage < 2)) >= threshold)
        # Each passage's best margin as in the read of all four (bf16 logits move by a few
        # hundredths with the other pairs packed beside them); a wrong rank would be 1.4 off.
        best = lambda reads: {k: max(r.margin for r in reads if r.passage == k) for k in {r.passage for r in reads}}
        expected = {k: m for k, m in best(everything).items() if not stopped or k < 2}
        assert best(got).keys() == expected.keys(), question
        assert [best(got)[k] for k in sorted(expected)] == pytest.approx([expected[k] for k in sorted(expected)], abs=0.2)
        outcomes.add(stopped)
    assert outcomes == {True, False}  # both ways were taken


@pytest.mark.slow
def test_also_in_searches_the_top_five_though_the_reader_reads_four(reader_pipeline, monkeypatch):
    """"Also in" is a text search over the top ALSO_IN_K (5) retrieved passages, as before
    the reader read at most READER_READ_K (4): the fifth passage still counts."""
    import qa.answer.answering as answering

    searched: list[int] = []
    real = answering._also_in
    monkeypatch.setattr(answering, "_also_in", lambda best, read, index: searched.append(len(read)) or real(best, read, index))
    answer = reader_pipeline.ask("In what year was the ISS launched?")
    assert answer.best is not None and answer.read in (2, READER_READ_K)
    assert searched == [answering.ALSO_IN_K] == [5]


@pytest.mark.parametrize("read_k, expected", [(None, READER_READ_K), (7, 7), (1, 1)])
def test_the_reader_reads_its_own_count_unless_the_settings_say(monkeypatch, read_k, expected):
    import qa.answer.answering as answering
    from qa.config import AskSettings

    passages, index, reader, _ = _scripted(["1"] * 10)
    given: list[int] = []
    monkeypatch.setattr(answering, "_read_until_answered", lambda reader, q, read, *rest: given.append(len(read)) or ([], 0))
    answer = answering.answer_question("q?", passages, index, AskSettings(read_k=read_k), reader)
    assert given == [expected] and answer.best is None


class _ScriptedSpans:
    """A cross-encoder stand-in: each passage's one span (its whole text) with the margin
    its text names ("m=2.5"); records how many passages each call read."""

    def __init__(self):
        self.calls: list[int] = []

    def passage_spans(self, question, texts, k):
        self.calls.append(len(texts))
        return [[PassageSpan(SpanScore(0, 0, float(t.split("=")[1]), 0.0), 0, len(t))] for t in texts]


class _Document:
    def __init__(self, text):
        self.text = text


def _scripted(margins: list[str]):
    """The passages (one document, each text "m=<margin>" or "" for an empty one), a
    reader over them, and an index that serves the document."""
    texts, passages, at = [], [], 0
    for m in margins:
        text = f"m={m}" if m else ""
        passages.append(Passage(Chunk("doc.txt", at, at + len(text), text, 1), score=1.0))
        texts.append(text)
        at += len(text) + 1
    document = _Document(" ".join(texts))
    index = type("Index", (), {"document": lambda self, source: document})()
    network = _ScriptedSpans()
    # confidence = sigmoid(margin): 0.5 at margin 0; each rank costs 1
    reader = LoadedReader(network, Calibration(rank_penalty=1.0), "sha")
    return passages, index, reader, network


@pytest.mark.parametrize(
    "margins, first, read_calls, best_rank, read_count",
    [
        (["3", "1", "9", "0", "0"], 2, [2], 0, 2),  # the first two answer (3 >= 0): the rest unread
        (["-3", "-1", "9", "0", "0"], 2, [2, 3], 2, 5),  # they do not: all five, 9 - 2 ranks wins
        (["-3", "", "9", "0", "0"], 2, [2], 1, 3),  # an empty passage is neither read nor ranked
        (["-3", "", "-9", "5", "0"], 2, [2, 2], 2, 5),
        (["-3", "-1"], 2, [2], 1, 2),  # no more than the first ones to read
        (["-3", "-1", "9"], 5, [3], 2, 3),  # read_first >= read_k: one read of all
        (["", "", "4"], 2, [1], 0, 3),  # fewer readable passages than read_first
    ],
)
def test_two_step_reading_reads_the_rest_only_when_the_first_do_not_answer(
    margins, first, read_calls, best_rank, read_count
):
    passages, index, reader, network = _scripted(margins)
    reads, count = _read_until_answered(reader, "q?", passages, index, first, threshold=0.5)
    assert network.calls == read_calls
    assert count == read_count  # how many passages, from the first, were looked at
    assert reads[0].passage == best_rank
    everything = read_passages(_ScriptedSpans(), "q?", passages, index, 1.0)
    by_span = {(r.start, r.end): (r.passage, r.margin) for r in everything}
    for r in reads:  # ranks and penalties as in one read of all of them
        assert by_span[(r.start, r.end)] == (r.passage, r.margin)


@given(
    text=st.text(alphabet=st.sampled_from("ab1 .,-'é\n"), min_size=1, max_size=40),
    data=st.data(),
)
def test_whole_words_widen_a_span_to_word_boundaries_and_never_shrink_it(text, data):
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    a, b = _whole_words(text, start, end)
    assert a <= start and end <= b
    assert a == 0 or not (text[a - 1].isalnum() and text[a].isalnum())
    assert b == len(text) or not (text[b - 1].isalnum() and text[b].isalnum())
