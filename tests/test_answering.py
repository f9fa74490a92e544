"""Answering with the real model and the shipped reader: seeds-dev expectations,
abstention (off-topic and on-topic unanswerable), verbatim spans under any input, and the
Super Bowl targets. Indexes are built once per session in tmp."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import numpy as np

from qa.answering import _whole_words
from qa.errors import QAError, QuestionError
from qa.pipeline import Pipeline
from qa.types import Answer
from tests.conftest import BENCH, SEEDS, SUPERBOWL_SOURCES
from tests.fakes import FakeEmbedder

OFF_TOPIC = [
    "How do I bake sourdough bread at home?",
    "What is a Python list comprehension?",
    "How long should I boil an egg?",
    "How do I center a div in CSS?",
]


@pytest.fixture(scope="session")
def seeds_pipeline(tmp_path_factory, real_embedder) -> Pipeline:
    root = tmp_path_factory.mktemp("answering")
    sources = root / "seeds"
    shutil.copytree(SEEDS, sources)
    return Pipeline.open(root / "index", sources=sources, embedder=real_embedder)


def _seed_questions() -> list[dict]:
    return [json.loads(line) for line in (BENCH / "seeds-dev.jsonl").read_text().splitlines() if line]


def _overlaps(citation, answers) -> bool:
    return any(
        g["source"] == citation.source and citation.start < g["end"] and g["start"] < citation.end
        for g in answers
    )


@pytest.mark.slow
@pytest.mark.parametrize("item", _seed_questions(), ids=lambda q: q["id"])
def test_seeds_dev(seeds_pipeline, item):
    answer = seeds_pipeline.ask(item["question"])
    if not item["answers"]:
        assert answer.abstained
        assert answer.reason.startswith("nothing in the sources mentions")
        return
    assert not answer.abstained, answer.reason
    assert _overlaps(answer.citation, item["answers"])
    assert _overlaps(answer.evidence, item["answers"])


@pytest.mark.slow
@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_abstain(seeds_pipeline, question):
    answer = seeds_pipeline.ask(question)
    assert answer.abstained
    assert answer.confidence < seeds_pipeline.settings.abstain_threshold
    assert answer.passages  # the closest material is still shown


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "What is NASA's budget?",  # on topic (the ISS), not in the sources: answered "partners" before the reader
        "How many astronauts are on the ISS right now?",
    ],
)
def test_on_topic_questions_the_sources_do_not_answer_abstain(seeds_pipeline, question):
    answer = seeds_pipeline.ask(question)
    assert answer.abstained, (answer.text, answer.confidence)
    assert answer.reason
    assert answer.passages


@pytest.mark.slow
def test_reason_uses_the_question_words_not_stems(seeds_pipeline):
    answer = seeds_pipeline.ask("What is the capital of Australia?")
    assert answer.abstained
    assert "Australia" in answer.reason
    assert "australia" not in answer.reason.replace("Australia", "")


@pytest.mark.slow
def test_reason_names_what_is_asked_about_not_how_it_is_asked(seeds_pipeline):
    answer = seeds_pipeline.ask("How many moons does Jupiter have?")
    assert answer.reason == "nothing in the sources mentions Jupiter"  # not "many or Jupiter"


@pytest.mark.slow
def test_alternatives_are_distinct_and_cited(seeds_pipeline):
    answer = seeds_pipeline.ask("When will Russia withdraw from the International Space Station?")
    texts = [answer.text] + [c.text for c in answer.alternatives]
    assert 1 <= len(answer.alternatives) <= 3
    assert len({t.lower() for t in texts}) == len(texts)
    for candidate in (answer.best, *answer.alternatives):
        text = seeds_pipeline.document_text(candidate.citation.source)
        assert text[candidate.citation.start : candidate.citation.end] == candidate.text
        assert candidate.evidence.start <= candidate.citation.start < candidate.citation.end <= candidate.evidence.end
    assert len(seeds_pipeline.ask("When will Russia withdraw from the ISS?", alternatives=1).alternatives) <= 1


@pytest.mark.slow
def test_agreeing_sources_are_all_cited(seeds_pipeline):
    # Both seed articles give the ISS launch year; the answer cites one and lists the other.
    answer = seeds_pipeline.ask("In what year was the ISS launched?")
    sources = {answer.citation.source} | {c.source for c in answer.best.also_in}
    assert len(sources) == 2
    for c in answer.best.also_in:
        assert seeds_pipeline.document_text(c.source)[c.start : c.end].lower() == answer.text.lower()


def _spans(answer: Answer):
    if answer.best is None:
        return
    for candidate in (answer.best, *answer.alternatives):
        yield candidate.citation
        yield candidate.evidence
        yield from candidate.also_in


_QUESTIONS = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
    st.sampled_from(["", "   ", "x" * 10_000, "[bold]Who[/bold] launched the ISS?", "[red]when?[/]",
                     "?", "\x00\n\t", "İİİ when 2025 ß", "ﬁ ﬂ 🚀 Russia"]),
    st.builds(lambda a, b: f"{a} Russia {b}?", st.text(max_size=30), st.text(max_size=30)),
)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=_QUESTIONS)
def test_any_question_gets_an_answer_or_a_clear_error_and_spans_are_verbatim(seeds_pipeline, question):
    try:
        answer = seeds_pipeline.ask(question)
    except QuestionError:
        assert not question.strip() or len(question.strip()) > 2000
        return
    except QAError:
        return
    assert isinstance(answer, Answer)
    assert question.strip() and len(question.strip()) <= 2000
    assert (answer.best is None) == (answer.reason is not None)
    for c in _spans(answer):
        assert seeds_pipeline.document_text(c.source)[c.start : c.end] == c.text
    if answer.best is not None:
        assert answer.best.citation.text == answer.text


@pytest.fixture(scope="session")
def superbowl_pipeline(tmp_path_factory, real_embedder) -> Pipeline:
    index = tmp_path_factory.mktemp("superbowl") / "index"
    return Pipeline.open(index, sources=SUPERBOWL_SOURCES, embedder=real_embedder)


@pytest.mark.slow
def test_superbowl_meets_the_targets(superbowl_pipeline):
    from qa.evaluation.questions import load_questions
    from qa.evaluation.runner import evaluate

    metrics = evaluate(superbowl_pipeline, load_questions(BENCH / "superbowl" / "questions.jsonl")).metrics
    # The targets are evidence_hit .75 and f1 .45; these floors are what the
    # pipeline reaches (see the report), so a regression fails here.
    assert metrics["hit@5"] >= 0.97
    assert metrics["verbatim"] == 1.0
    assert metrics["evidence_hit"] >= 0.715  # .67 before token MaxSim, .705 before the focus noun
    assert metrics["f1"] >= 0.51  # .39 before token MaxSim, .465 before the focus noun
    assert metrics["abstain_answerable"] <= 0.01


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # Each picked another name of the same sentence before the reader.
        ("Which network broadcasted Super Bowl 50 in the U.S.?", "CBS"),
        ("What radio network carried the Super Bowl?", "Westwood One"),
        ("What is the name of the stadium where Super Bowl 50 was played?", "Levi's Stadium"),
    ],
)
def test_the_reader_picks_the_asked_for_name_among_the_names(superbowl_pipeline, question, expected):
    assert superbowl_pipeline.ask(question).text == expected


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


def test_a_question_is_answered_on_one_blas_thread_and_the_limit_is_lifted_after(tmp_path):
    # Spinning BLAS workers took the two cores from torch: Super Bowl p95 116 ms -> 19 ms.
    from threadpoolctl import threadpool_info

    def blas_threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    seen: list[set[int]] = []

    class Recording(FakeEmbedder):
        def embed_query(self, text):
            seen.append(blas_threads())
            return super().embed_query(text)

    shutil.copytree(SEEDS, tmp_path / "seeds")
    pipeline = Pipeline.open(tmp_path / "index", sources=tmp_path / "seeds", embedder=Recording())
    before = blas_threads()
    pipeline.ask("When will Russia withdraw from the International Space Station?")
    assert seen == [{1}]
    assert blas_threads() == before
