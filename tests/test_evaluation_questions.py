"""Question files: each format parsed, malformed rows reported with their line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.errors import EvaluationInputError
from qa.evaluation.questions import (
    GoldAnswer,
    load_questions,
    text_finder,
    verify_offsets,
)

DATA = Path(__file__).parent / "data" / "eval"
SOURCES = DATA / "sources"


def _texts() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SOURCES.glob("*.txt"))}


def test_jsonl_questions_with_offsets_and_malformed_rows():
    qset = load_questions(DATA / "questions.jsonl")
    assert qset.format == "jsonl"
    assert [q.id for q in qset.questions] == ["l1", "b1", "u1", "t1"]
    assert [q.line for q in qset.questions] == [1, 2, 4, 7]
    l1, b1, u1, t1 = qset.questions
    text = _texts()["lighthouse.txt"]
    gold = l1.answers[0]
    assert gold.has_offsets and text[gold.start : gold.end] == gold.text == "1871"
    assert len(b1.answers) == 2
    assert not u1.answerable
    assert t1.answers == (GoldAnswer("41 metres"),) and not t1.has_offsets
    assert qset.skipped == 3
    assert [w.split(":")[0] for w in qset.warnings] == ["line 3", "line 5", "line 6"]
    assert "not valid JSON" in qset.warnings[0]
    assert "empty \"question\"" in qset.warnings[1]
    assert "repeats line 1" in qset.warnings[2]
    assert "3 malformed row(s) skipped" in qset.notes[0]


def test_squad_v11_offsets_recovered_from_sources():
    texts = _texts()
    qset = load_questions(DATA / "squad-v1.1.json", find_text=text_finder(texts))
    assert qset.format == "squad"
    assert [q.id for q in qset.questions] == ["sq1", "sq2", "sq3", "sq4"]
    by_id = {q.id: q for q in qset.questions}
    # Repeated annotator answers collapse; distinct ones stay.
    assert [a.text for a in by_id["sq1"].answers] == ["Marta Lindqvist"]
    assert [a.text for a in by_id["sq2"].answers] == ["a granite ledge", "granite ledge"]
    for qid in ("sq1", "sq2", "sq3"):
        for a in by_id[qid].answers:
            assert a.source == "lighthouse.txt"
            assert texts[a.source][a.start : a.end] == a.text
    # The ferry paragraph is in no source: text-only gold, counted and said.
    assert by_id["sq4"].answers == (GoldAnswer("1932"),)
    assert qset.text_only == 1
    assert any("1 question(s) scored by answer text only" in n for n in qset.notes)


def test_squad_v20_impossible_question_and_missing_question_text():
    qset = load_questions(DATA / "squad-v2.0.json", find_text=text_finder(_texts()))
    ids = [q.id for q in qset.questions]
    assert ids == ["bq1", "bq2", "bq3", "bq5"]
    bq3 = qset.questions[2]
    assert bq3.answers == () and not bq3.answerable  # plausible_answers are not gold
    raw_lines = (DATA / "squad-v2.0.json").read_text().splitlines()
    for q in qset.questions:
        assert f'"{q.id}"' in raw_lines[q.line - 1]
    bq4_line = next(i for i, s in enumerate(raw_lines, 1) if '"bq4"' in s)
    assert qset.warnings == (f'line {bq4_line}: missing or empty "question"; skipped',)
    assert qset.text_only == 0


def test_squad_without_finder_is_text_only_and_not_counted():
    qset = load_questions(DATA / "squad-v1.1.json")
    assert all(not q.has_offsets for q in qset.questions)
    assert qset.text_only == 0


def test_squad_answer_start_off_by_some_characters_is_repaired(tmp_path):
    context = "Alpha beta gamma. Delta epsilon."
    doc = {"data": [{"paragraphs": [{"context": context, "qas": [
        {"id": "x", "question": "Which?", "answers": [{"text": "Delta", "answer_start": 16}]}
    ]}]}]}
    path = tmp_path / "q.json"
    path.write_text(json.dumps(doc))
    text = "Header\n\n" + context
    qset = load_questions(path, find_text=text_finder({"a.txt": text}))
    gold = qset.questions[0].answers[0]
    assert text[gold.start : gold.end] == "Delta"


def test_csv_questions_unanswerable_and_malformed_rows():
    qset = load_questions(DATA / "questions.csv")
    assert qset.format == "csv"
    assert [q.id for q in qset.questions] == ["c1", "c2", "c3", "line-7"]
    assert [q.line for q in qset.questions] == [2, 3, 4, 7]
    c1, c2, c3, auto = qset.questions
    assert c1.answers == (GoldAnswer("2004"),)
    assert c2.answers == (GoldAnswer("the regional Golden Loaf award"),)
    assert c3.answers == ()
    assert auto.question == "When was the station fully automated?"
    assert qset.warnings == (
        "line 5: 4 fields, the header has 3; skipped",
        "line 6: empty question; skipped",
    )
    assert qset.skipped == 2


def test_csv_line_numbers_count_quoted_newlines(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('question,answer\n"two\nline question",yes\n,missing\nlast?,no\n')
    qset = load_questions(path)
    assert [q.line for q in qset.questions] == [2, 5]
    assert qset.warnings == ("line 4: empty question; skipped",)


@pytest.mark.parametrize(
    ("name", "content", "hint"),
    [
        ("missing.jsonl", None, "no such file"),
        ("q.csv", "prompt,reply\na,b\n", "question,answer"),
        ("q.json", "[1, 2]", "not SQuAD"),
        ("q.json", "{not json", "not valid JSON"),
        ("q.txt", "hello there\n", "cannot tell the format"),
        ("q.jsonl", '{"question": ""}\n', "no usable question"),
    ],
)
def test_unreadable_files_raise_one_line_errors(tmp_path, name, content, hint):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(EvaluationInputError) as info:
        load_questions(path)
    assert hint in str(info.value)
    assert "\n" not in str(info.value)


def test_non_utf8_file_says_how_to_fix(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes(b"question,answer\ncaf\xe9?,x\n")
    with pytest.raises(EvaluationInputError, match="save it as UTF-8"):
        load_questions(path)


def test_verify_offsets_demotes_wrong_gold_to_text_only(tmp_path):
    path = tmp_path / "q.jsonl"
    rows = [
        {"id": "a", "question": "q?", "answers": [{"text": "1871", "source": "lighthouse.txt", "start": 0, "end": 4}]},
        {"id": "b", "question": "q?", "answers": [{"text": "x", "source": "nowhere.txt", "start": 0, "end": 1}]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    texts = _texts()
    qset = verify_offsets(load_questions(path), texts.get)
    assert all(not q.has_offsets for q in qset.questions)
    assert qset.warnings[0].startswith("line 1: gold answer '1871' is not at lighthouse.txt:0-4")
    assert qset.warnings[1].startswith("line 2: gold answer 'x' cites 'nowhere.txt'")


@given(
    before=st.text(max_size=30),
    paragraph=st.text(min_size=1, max_size=30).filter(lambda s: s.strip()),
    after=st.text(max_size=30),
)
def test_text_finder_returns_an_offset_where_the_paragraph_stands(before, paragraph, after):
    text = before + paragraph + after
    found = text_finder({"doc.txt": text})(paragraph)
    assert found is not None
    source, at = found
    assert text[at : at + len(paragraph)] == paragraph
