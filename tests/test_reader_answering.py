"""What only the shipped trained reader does (`reader="shipped"`, real model): abstain on
on-topic questions the sources don't answer, and widen spans to whole words. What every
answerer must do (abstain off topic, cite distinct verbatim alternatives...) runs on both
in test_answering.py; quality figures are in the README and the model card."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import given, strategies as st

from qa.reader.answering import _whole_words
from qa.pipeline import Pipeline
from tests.conftest import SEEDS


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
