"""Question typing and answer-type span patterns, on small hand-written sentences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from qa.answer.answer_types import candidate_spans, question_focus, question_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many moons does Mars have?", "number"),
        ("How may yards did he run?", "number"),
        ("How old was the captain?", "number"),
        ("How much did the bridge cost?", "money"),
        ("What percentage of voters agreed?", "percent"),
        ("How long is the river?", "measure"),
        ("In what year did the mill close?", "year"),
        ("For what season was the award given?", "year"),
        ("When did the ferry sink?", "date"),
        ("What was the final score?", "score"),
        ("How much time was left on the clock?", "time"),
        ("Who founded the bakery?", "name"),
        ("Where was the lighthouse built?", "name"),
        ("Which company built the engine?", "name"),
        ("What team won the cup?", "name"),
        ("What was the last name of the keeper?", "name"),
        ("In what Dutch city was she born?", "name"),
        ("Which of the two was older?", "name"),
        ("What was the average cost of a ticket?", "money"),
        ("What was the base rate for an advert?", "money"),
        ("What was the number of ships lost?", "number"),
        ("What are the most goals she scored?", "number"),
        ("What was their win/loss record?", "score"),
        ("What colour was the door painted?", "colour"),
        ("What was the color of the flag?", "colour"),
        ("What rank did the song reach?", "ordinal"),
        ("What anniversary was celebrated?", "ordinal"),
        ("What yard line did they reach?", "measure"),
        ("What position does Anna de Vries play?", "role"),
        ("What was the festival called?", "name"),
        ("What does NATO stand for?", "name"),
        ("What year was the ferry built?", "year"),
        ("Why did the bakery close?", "other"),
        ("What did the keeper do at night?", "other"),
    ],
)
def test_question_type(question, kind):
    assert question_type(question).name == kind


def _texts(kind: str, sentence: str) -> list[str]:
    return [sentence[a:b] for a, b in candidate_spans(question_type(kind), sentence)]


def test_spans_of_each_type():
    assert _texts("When did it open?", "It opened on March 3, 1921 after a delay.") == ["March 3, 1921"]
    assert _texts("In what year did it open?", "It opened in 1921, not 1920.") == ["1921", "1920"]
    assert "$4.5 million" in _texts("How much did it cost?", "The mill cost $4.5 million to build.")
    assert _texts("What percentage agreed?", "About 45% agreed.") == ["45%"]
    assert _texts("How long is it?", "The pier is 300 feet long.") == ["300 feet"]
    assert _texts("What was the final score?", "They won 24–10 at home.") == ["24–10"]
    assert _texts("How much time was left?", "With 4:51 left, they scored.") == ["4:51"]


def test_colour_ordinal_and_role_spans():
    assert _texts("What colour was it?", "The gold-plated door was once dark blue.") == ["gold", "blue"]
    assert _texts("What rank did it reach?", "It was the third-most sold record; number one was Abba.") == [
        "third",
        "number one",
    ]
    sentence = "Dutch goalkeeper Anna de Vries was named captain by coach Tom Berg."
    assert _texts("What position does Anna de Vries play?", sentence) == ["goalkeeper", "coach"]


def test_number_spans_prefer_the_longest_and_skip_scores_and_times():
    spans = _texts("How many people came?", "Some 12,000 people came; the score was 3–1 at 4:51.")
    assert spans == ["12,000"]
    assert _texts("How many were there?", "There were twenty-one of them.") == ["twenty-one"]


def test_name_spans_drop_words_capitalised_by_position():
    spans = _texts("Who built it?", "In 1890 the keeper Anna de Vries built it with Bank of Holland.")
    assert "Anna de Vries" in spans
    assert "Bank of Holland" in spans
    assert not any(s.startswith("In") for s in spans)
    assert _texts("Who won?", "After the game, Super Bowl XXXIII went to Denver.") == ["Super Bowl XXXIII", "Denver"]


def test_untyped_questions_have_no_typed_spans():
    assert candidate_spans(question_type("Why did it close?"), "It closed in 1921 because of Anna.") == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.sampled_from(
        ["Who?", "When?", "How many?", "How much did it cost?", "What score?", "What colour?", "What rank?", "What position?"]
    ),)
def test_spans_are_ordered_disjoint_and_inside_the_text(text, question):
    spans = candidate_spans(question_type(question), text)
    for a, b in spans:
        assert 0 <= a < b <= len(text)
    assert all(x[1] <= y[0] for x, y in zip(spans, spans[1:]))


@pytest.mark.parametrize(
    ("question", "focus"),
    [
        ("Which NFL team represented the AFC?", "team"),  # the head ends the noun phrase
        ("What station aired the final?", "station"),  # a verb ends it
        ("In what city did the mill close?", "city"),  # an auxiliary ends it
        ("What was the final score?", "score"),
        ("What is the name of the stadium where they played?", "stadium"),  # the named thing
        ("What kind of bird nests there?", "bird"),
        ("How many games did they lose?", "games"),
        ("How many Pro Bowl selections were there?", "selections"),
        ("Who won the game?", None),
        ("What did the mayor say?", None),
        ("When did it close?", None),
        ("", None),
    ],
)
def test_question_focus(question, focus):
    found = question_focus(question)
    assert (question[found.start : found.end] if found else None) == focus
    if found:
        assert found.counted == question.startswith("How many")


def test_a_named_focus_asks_for_a_name_and_a_counted_one_for_a_number():
    assert question_type("What jersey did the team wear?").name == "name"  # a clause before
    assert question_type("How many games did they lose?").name == "number"
    assert question_type("What did the mayor say?").name == "other"


@given(st.text(max_size=300))
def test_question_focus_is_a_word_of_the_question(question):
    found = question_focus(question)
    if found is not None:
        assert 0 <= found.start < found.end <= len(question)
        word = question[found.start : found.end]
        assert word.strip() == word
