"""The HTML report: self-contained, escaped, and its numbers are the JSON metrics."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

from qa.evaluation.metrics import METRICS
from qa.evaluation.questions import load_questions
from qa.evaluation.report import render_report, write_report
from qa.evaluation.runner import evaluate
from qa.evaluation.triage import classify
from tests.test_evaluation_metrics import S1, S2, S3, answer, cite, gold, passage, q, result
from tests.test_evaluation_runner import DATA, JSONL_SCRIPT, FakeAsker


class _Cells(HTMLParser):
    """Collects `data-metric` cells and checks the document holds no external reference."""

    def __init__(self) -> None:
        super().__init__()
        self.metrics: dict[str, str] = {}
        self._current: str | None = None
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-metric" in attrs:
            self._current = attrs["data-metric"]
        for key in ("src", "href"):
            if attrs.get(key):
                self.external.append(attrs[key])
        if tag == "script":
            self.external.append("script")

    def handle_data(self, data):
        if self._current is not None:
            self.metrics[self._current] = data.strip()
            self._current = None


def metrics_in(html: str) -> dict[str, float | None]:
    parser = _Cells()
    parser.feed(html)
    assert parser.external == []  # one self-contained file
    return {k: None if v == "n/a" else float(v) for k, v in parser.metrics.items()}


def test_report_numbers_equal_the_json_metrics(tmp_path):
    ev = evaluate(FakeAsker(JSONL_SCRIPT), load_questions(DATA / "questions.jsonl"), with_curve=True)
    path = tmp_path / "report.html"
    write_report(path, ev, calibrated=0.25)
    html = path.read_text(encoding="utf-8")
    assert metrics_in(html) == ev.to_json()["metrics"]
    assert set(metrics_in(html)) == {name for name, _ in METRICS}
    assert html.count("<svg") == 3  # latency, threshold curve, accuracy vs abstention
    assert 'id="partial"' not in html
    assert "calibrated 0.25" in html


def test_report_escapes_questions_and_answers(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('question,answer\n"<script>alert(1)</script> & who?","<b>nobody</b>"\n')
    ev = evaluate(FakeAsker({}), load_questions(path))
    html = render_report(ev)
    assert "<script>" not in html and "<b>nobody" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; who?" in html
    assert "&lt;b&gt;nobody&lt;/b&gt;" in html


def test_partial_report_says_so():
    ev = evaluate(FakeAsker(JSONL_SCRIPT, interrupt_at=2), load_questions(DATA / "questions.jsonl"))
    html = render_report(ev)
    assert 'id="partial"' in html and "after 1 of 4 questions" in html
    assert metrics_in(html) == ev.to_json()["metrics"]


def test_triage_names_the_stage_that_failed():
    two = q((gold("2016"),))
    retrieval = result(two, answer("Carolina Panthers", passages=(passage(S1), passage(S3))))
    wrong_sentence = result(two, answer("Denver Broncos", evidence=cite(S1), passages=(passage(S2),)))
    wrong_span = result(two, answer("Levi's Stadium", evidence=cite(S2), passages=(passage(S2),)))
    abstained = result(two, answer(None, passages=(passage(S2),)))
    answered_unanswerable = result(q(()), answer("Denver Broncos"))
    right = result(two, answer(S2, passages=(passage(S2),)))
    assert classify(retrieval).stage == "retrieval"
    assert (classify(wrong_sentence).stage, classify(wrong_sentence).detail) == (
        "extraction", "gold passage retrieved, wrong sentence")
    assert classify(wrong_span).detail == "right sentence, wrong span"
    assert classify(abstained).stage == "abstention"
    assert classify(answered_unanswerable).detail == "answered an unanswerable question"
    assert classify(right) is None


def test_triage_table_shows_question_gold_and_prediction_side_by_side():
    ev = evaluate(FakeAsker(JSONL_SCRIPT), load_questions(DATA / "questions.jsonl"))
    html = render_report(ev)
    table = html[html.index('<table class="triage">'):]
    rows = re.findall(r"<tr>(.*?)</tr>", table)[1:]
    # b1 abstained (confidence 0.3 < 0.35): the only miss
    assert len(rows) == 1
    cells = [unescape(re.sub(r"<[^>]+>", " ", c)).split() for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[0])]
    assert cells[0][0] == "b1"
    assert cells[1][0] == "abstention"
    assert " ".join(cells[2]) == "Who founded the Orchard Street Bakery?"
    assert " ".join(cells[3]) == "two brothers, Tomas and Eli Varga | Tomas and Eli Varga"
    assert " ".join(cells[4]) == "(abstained: not sure)"
