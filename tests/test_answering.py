"""Answering with the real model and the shipped reader: seeds-dev expectations,
abstention, verbatim spans under any input, and the Super Bowl targets. Indexes are built
once per session in tmp."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

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
    pipeline = Pipeline.open(root / "index", sources=sources, embedder=real_embedder)
    assert pipeline.answerer.startswith("reader ")  # the shipped reader answers by default
    return pipeline


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


@pytest.mark.slow
def test_superbowl_meets_the_targets(tmp_path, real_embedder):
    from qa.evaluation.questions import load_questions
    from qa.evaluation.runner import evaluate

    pipeline = Pipeline.open(tmp_path / "index", sources=SUPERBOWL_SOURCES, embedder=real_embedder)
    metrics = evaluate(pipeline, load_questions(BENCH / "superbowl" / "questions.jsonl")).metrics
    # These floors are what the shipped reader reaches (README), so a regression fails here.
    assert metrics["hit@5"] >= 0.97
    assert metrics["verbatim"] == 1.0
    # The weights of 2026-12-05 evening: F1 .634 abstaining on .147 of these answerable
    # questions (the issue wants <= .08); those before, .579 at .230.
    assert metrics["f1"] >= 0.60
    assert metrics["abstain_answerable"] <= 0.18
    assert metrics["hit@1"] < metrics["read_hit"] < metrics["hit@5"]  # it stops after two when they answer


@pytest.mark.slow
def test_the_reader_abstains_on_squad2_questions_the_article_does_not_answer(real_embedder, tmp_path):
    """One squad2-dev article (419 questions, 202 unanswerable but on-topic): the shipped
    reader's no-answer must keep separating them. The weights of 2026-12-05 evening
    (threshold .196): F1 .593, SQuAD 2.0 F1 .575, AUROC .758, abstaining on .555 of the
    unanswerable and .198 of the answerable; they abstain less than the weights before
    (threshold .252: F1 .564, SQuAD 2.0 F1 .571, AUROC .778, .58 and .20), and under CI
    load one question moved abstain_unanswerable to .5495, so the floors leave a few
    questions of room."""
    from qa.evaluation.questions import load_questions
    from qa.evaluation.runner import evaluate

    folder = BENCH / "squad2-huguenot"
    pipeline = Pipeline.open(tmp_path / "index", sources=folder / "sources", embedder=real_embedder)
    metrics = evaluate(pipeline, load_questions(folder / "questions.jsonl")).metrics
    assert metrics["verbatim"] == 1.0
    assert metrics["squad2_f1"] >= 0.55  # always abstaining would score .48 here
    assert metrics["f1"] >= 0.57
    assert metrics["abstain_auroc"] >= 0.74
    assert metrics["abstain_unanswerable"] >= 0.52


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


def test_abstention_names_absent_words_only_when_most_of_the_question_is_absent():
    from qa.answer.abstention import absent_words_reason
    from qa.index.lexical import terms

    source = "Super Bowl 50 took place at Levi's Stadium, the home of the 49ers."
    known = set(terms(source)).__contains__
    # a paraphrase: "venue" and "take" are absent, but the question is about the text
    assert absent_words_reason("What venue did Super Bowl 50 take place in?", known) == (
        "the closest passages do not answer the question"
    )
    assert absent_words_reason("What is NASA's budget?", known) == "nothing in the sources mentions NASA's or budget"
    assert absent_words_reason("Where is the stadium of NASA?", known) == "nothing in the sources mentions NASA"
    assert absent_words_reason("Where did Super Bowl 50 take place?", known) == (
        "the closest passages do not answer the question"
    )
