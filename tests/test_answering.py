"""Answering with the real model: seeds-dev expectations, abstention, verbatim spans under
any input, and the Super Bowl targets. Indexes are built once per session in tmp."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import numpy as np

from qa.answer import late_interaction
from qa.answer.answer_types import Focus
from qa.answer.late_interaction import ChunkAlignment, QuestionTokens, question_tokens, span_alignments
from qa.errors import QAError, QuestionError
from qa.index.embedding import TokenVectors
from qa.pipeline import Pipeline
from qa.types import Answer
from tests.conftest import BENCH, SEEDS, SUPERBOWL_SOURCES
from tests.fakes import FakeEmbedder, TokenFakeEmbedder

OFF_TOPIC = [
    "How do I bake sourdough bread at home?",
    "What is a Python list comprehension?",
    "How long should I boil an egg?",
    "How do I center a div in CSS?",
]


@pytest.fixture(scope="session")
def seeds_copy_indexed(tmp_path_factory, real_embedder) -> tuple:
    root = tmp_path_factory.mktemp("answering")
    sources = root / "seeds"
    shutil.copytree(SEEDS, sources)
    return Pipeline.open(root / "index", sources=sources, embedder=real_embedder, reader="extractor"), root


@pytest.fixture(scope="session", params=["extractor", "reader"])
def any_answerer(request, seeds_copy_indexed, real_embedder) -> Pipeline:
    """Each answerer over the same index: what every answer must satisfy, whoever finds it."""
    pipeline, root = seeds_copy_indexed
    if request.param == "extractor":
        return pipeline
    default = Pipeline.open(root / "index", embedder=real_embedder)
    assert default.answerer.startswith("reader ")  # the trained reader answers by default
    return default


def _seed_questions() -> list[dict]:
    return [json.loads(line) for line in (BENCH / "seeds-dev.jsonl").read_text().splitlines() if line]


def _overlaps(citation, answers) -> bool:
    return any(
        g["source"] == citation.source and citation.start < g["end"] and g["start"] < citation.end
        for g in answers
    )


@pytest.mark.slow
@pytest.mark.parametrize("item", _seed_questions(), ids=lambda q: q["id"])
def test_seeds_dev(any_answerer, item):
    answer = any_answerer.ask(item["question"])
    if not item["answers"]:
        assert answer.abstained
        assert answer.reason.startswith("nothing in the sources mentions")
        return
    assert not answer.abstained, answer.reason
    assert _overlaps(answer.citation, item["answers"])
    assert _overlaps(answer.evidence, item["answers"])


@pytest.mark.slow
@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_abstain(any_answerer, question):
    answer = any_answerer.ask(question)
    assert answer.abstained
    assert answer.confidence < any_answerer.settings.abstain_threshold
    assert answer.passages  # the closest material is still shown


@pytest.mark.slow
def test_reason_uses_the_question_words_not_stems(any_answerer):
    answer = any_answerer.ask("What is the capital of Australia?")
    assert answer.abstained
    assert "Australia" in answer.reason
    assert "australia" not in answer.reason.replace("Australia", "")


@pytest.mark.slow
def test_reason_names_what_is_asked_about_not_how_it_is_asked(any_answerer):
    answer = any_answerer.ask("How many moons does Jupiter have?")
    assert answer.reason == "nothing in the sources mentions Jupiter"  # not "many or Jupiter"


@pytest.mark.slow
def test_alternatives_are_distinct_and_cited(any_answerer):
    answer = any_answerer.ask("When will Russia withdraw from the International Space Station?")
    texts = [answer.text] + [c.text for c in answer.alternatives]
    assert 1 <= len(answer.alternatives) <= 3
    assert len({t.lower() for t in texts}) == len(texts)
    for candidate in (answer.best, *answer.alternatives):
        text = any_answerer.document_text(candidate.citation.source)
        assert text[candidate.citation.start : candidate.citation.end] == candidate.text
        assert candidate.evidence.start <= candidate.citation.start < candidate.citation.end <= candidate.evidence.end
    assert len(any_answerer.ask("When will Russia withdraw from the ISS?", alternatives=1).alternatives) <= 1


@pytest.mark.slow
def test_agreeing_sources_are_all_cited(any_answerer):
    # Both seed articles give the ISS launch year; the answer cites one and lists the other.
    answer = any_answerer.ask("In what year was the ISS launched?")
    sources = {answer.citation.source} | {c.source for c in answer.best.also_in}
    assert len(sources) == 2
    for c in answer.best.also_in:
        assert any_answerer.document_text(c.source)[c.start : c.end].lower() == answer.text.lower()


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
def test_any_question_gets_an_answer_or_a_clear_error_and_spans_are_verbatim(any_answerer, question):
    try:
        answer = any_answerer.ask(question)
    except QuestionError:
        assert not question.strip() or len(question.strip()) > 2000
        return
    except QAError:
        return
    assert isinstance(answer, Answer)
    assert question.strip() and len(question.strip()) <= 2000
    assert (answer.best is None) == (answer.reason is not None)
    for c in _spans(answer):
        assert any_answerer.document_text(c.source)[c.start : c.end] == c.text
    if answer.best is not None:
        assert answer.best.citation.text == answer.text


@pytest.fixture(scope="session")
def superbowl_index(tmp_path_factory, real_embedder) -> Path:
    index = tmp_path_factory.mktemp("superbowl") / "index"
    Pipeline.open(index, sources=SUPERBOWL_SOURCES, embedder=real_embedder, reader="extractor")
    return index


@pytest.fixture(scope="session")
def superbowl_pipeline(superbowl_index, real_embedder) -> Pipeline:
    """The hand-tuned extractor (what its own cues are tested on)."""
    return Pipeline.open(superbowl_index, embedder=real_embedder, reader="extractor")


@pytest.mark.slow
@pytest.mark.parametrize("answerer", ["extractor", "shipped"])
def test_superbowl_meets_the_targets(superbowl_index, real_embedder, answerer):
    from qa.evaluation.questions import load_questions
    from qa.evaluation.runner import evaluate

    pipeline = Pipeline.open(superbowl_index, embedder=real_embedder, reader=answerer)
    metrics = evaluate(pipeline, load_questions(BENCH / "superbowl" / "questions.jsonl")).metrics
    # These floors are what each answerer reaches (README), so a regression fails here.
    assert metrics["hit@5"] >= 0.97
    assert metrics["verbatim"] == 1.0
    if answerer == "extractor":
        assert metrics["read_hit"] == metrics["hit@5"]  # it reads all of its read_k (5)
        assert metrics["evidence_hit"] >= 0.715  # .67 before token MaxSim, .705 before the focus noun
        assert metrics["f1"] >= 0.51  # .39 before token MaxSim, .465 before the focus noun
        assert metrics["abstain_answerable"] <= 0.01
    else:  # the trained reader: better spans, but it abstains on about a quarter (the issue wants <= .08).
        # F1 .527 at .32 abstentions with the threshold that maximised SQuAD 2.0 F1 alone on
        # held-out articles; .578 at .225 with the one that weighs answerable F1 as much
        # (0.252, reading five); .579 at .230 reading four at 0.257 (2026-12-05).
        assert metrics["f1"] >= 0.56
        assert metrics["abstain_answerable"] <= 0.25
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


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # Each picked another name of the same sentence before the focus noun counted.
        ("Which network broadcasted Super Bowl 50 in the U.S.?", "CBS"),  # was "U.S"
        ("What radio network carried the Super Bowl?", "Westwood One"),  # was "Panthers"
        ("Which hotel did the Panthers stay at for the Super Bowl?", "San Jose Marriott"),
        ("Which game console could viewers stream the game on?", "Xbox One"),  # was "CBSSports.com"
        ("What is the name of the stadium where Super Bowl 50 was played?", "Levi's Stadium"),
    ],
)
def test_the_noun_naming_the_kind_of_answer_picks_it_among_the_names(superbowl_pipeline, question, expected):
    assert superbowl_pipeline.ask(question).text == expected


# ---------------------------------------------------------------- late interaction


def _alignment(cosines, starts, focus=None, counted=False) -> ChunkAlignment:
    starts = np.array(starts, np.int64)
    focus = None if focus is None else np.array(focus, np.float32)
    return ChunkAlignment(np.array(cosines, np.float32), starts, starts + 3, focus, counted)


def test_maxsim_takes_each_question_token_best_match_in_the_range():
    # Two question tokens, six chunk tokens at offsets 0, 4, 8...; sentences [0, 12), [12, 24).
    alignment = _alignment([[0.1, 0.9, 0.2, 0.3, 0.1, 0.0], [0.2, 0.1, 0.4, 0.8, 0.7, 0.1]], [0, 4, 8, 12, 16, 20])
    weights = np.array([1.0, 3.0], np.float32)
    scores = alignment.maxsims([0, 12, 30], [12, 24, 40], weights)
    np.testing.assert_allclose(scores, [(0.9 + 3 * 0.4) / 4, (0.3 + 3 * 0.8) / 4, 0.0], rtol=1e-6)


def test_a_span_next_to_the_question_tokens_matches_beats_a_far_one():
    # Tokens 0-5; the question's two tokens match tokens 1 and 2 best.
    alignment = _alignment([[0.1, 0.9, 0.2, 0.0, 0.0, 0.0], [0.1, 0.2, 0.8, 0.0, 0.1, 0.0]], [0, 4, 8, 12, 16, 20])
    near, far, echo, whole = span_alignments(alignment, (0, 24), [(12, 15), (20, 23), (4, 11), (0, 24)])
    assert near > far  # right after the matched words, not three tokens away
    assert echo < near  # the matched words themselves are the question, not its answer
    assert whole == 0.0


def test_the_focus_noun_rewards_the_span_it_matches_inside():
    # Question tokens match token 1; the focus noun ("team") matches token 4 best.
    cosines, starts = [[0.1, 0.9, 0.1, 0.0, 0.0, 0.0]], [0, 4, 8, 12, 16, 20]
    plain = _alignment(cosines, starts)
    focused = _alignment(cosines, starts, focus=[[0.0, 0.0, 0.1, 0.2, 0.8, 0.1]])
    spans = [(8, 11), (16, 19)]  # tokens 2 and 4
    before, after = span_alignments(plain, (0, 24), spans), span_alignments(focused, (0, 24), spans)
    assert before[0] > before[1]  # nearer the question's words
    assert after[1] > after[0]  # but token 4 is the kind of thing asked for
    np.testing.assert_allclose(after - before, late_interaction.FOCUS_MATCH * np.array([0.1, 0.8]), rtol=1e-6)


def test_a_counted_noun_rewards_the_number_right_before_it():
    # "How many games": the counted noun matches token 3 best, right after the span at token 2.
    cosines, starts = [[0.1, 0.9, 0.1, 0.0, 0.0, 0.0]], [0, 4, 8, 12, 16, 20]
    plain = _alignment(cosines, starts)
    counted = _alignment(cosines, starts, focus=[[0.0, 0.0, 0.0, 0.9, 0.0, 0.0]], counted=True)
    spans = [(8, 11), (16, 19), (20, 23)]  # tokens 2, 4 and the chunk's last
    gain = span_alignments(counted, (0, 24), spans) - span_alignments(plain, (0, 24), spans)
    np.testing.assert_allclose(gain, late_interaction.COUNTED_MATCH * np.array([0.9, 0.0, 0.0]), atol=1e-6)


def test_question_tokens_keep_only_the_content_words():
    question = "Who won the big game?"
    words = [(m.start(), m.end(), m.group().lower()) for m in re.finditer(r"\w+", question)]
    spans = np.array([(a, b) for a, b, _ in words] + [(20, 21)], np.int64)
    tokens = TokenVectors(np.eye(6, 8, dtype=np.float32), spans)
    kept = question_tokens(question, tokens, words, {"won", "game"}, lambda w: {"won": 2.0, "game": 1.0}[w])
    np.testing.assert_array_equal(kept.vectors, np.eye(6, 8, dtype=np.float32)[[1, 4]])
    np.testing.assert_array_equal(kept.weights, [2.0, 1.0])
    assert kept.focus is None
    assert question_tokens(question, None, words, {"won"}, lambda w: 1.0) is None
    assert question_tokens(question, tokens, words, {"absent"}, lambda w: 1.0) is None
    focused = question_tokens(question, tokens, words, {"won"}, lambda w: 1.0, focus=Focus(16, 20))  # "game"
    np.testing.assert_array_equal(focused.focus, np.eye(6, 8, dtype=np.float32)[[4]])
    assert not focused.counted


def test_ask_aligns_question_tokens_with_the_stored_ones(tmp_path, monkeypatch):
    shutil.copytree(SEEDS, tmp_path / "seeds")
    calls = []
    real = late_interaction.align_chunk

    def spy(index, row, question: QuestionTokens):
        calls.append(row)
        return real(index, row, question)

    monkeypatch.setattr("qa.answer.answering.align_chunk", spy)
    with_tokens = Pipeline.open(tmp_path / "a", sources=tmp_path / "seeds", embedder=TokenFakeEmbedder(), reader="extractor")
    answer = with_tokens.ask("When will Russia withdraw from the International Space Station?")
    assert calls and set(calls) <= {p.row for p in answer.passages}
    calls.clear()
    without = Pipeline.open(tmp_path / "b", sources=tmp_path / "seeds", embedder=FakeEmbedder(), reader="extractor")
    plain = without.ask("When will Russia withdraw from the International Space Station?")
    assert not calls  # no stored token vectors: late interaction is skipped, not an error
    for a in (answer, plain):
        c = a.citation
        assert c is None or with_tokens.document_text(c.source)[c.start : c.end] == c.text


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
    from qa.answer.answering import absent_words_reason
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
