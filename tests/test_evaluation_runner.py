"""The runner with a scripted stand-in for `Pipeline` (same `ask`/`document_text`/`settings`
surface): predictions, Ctrl-C, the threshold sweep and calibration. The real pipeline runs
end to end in test_evaluation_cli.py."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from qa.config import ASK_CONFIG_FILE, AskSettings
from qa.evaluation.calibration import (
    calibrate,
    choose_threshold,
    evaluate_threshold,
    save_calibration,
)
from qa.evaluation.metrics import QuestionResult
from qa.evaluation.questions import load_questions
from qa.evaluation.report import render_report
from qa.evaluation.runner import evaluate, prediction_lines, write_predictions
from qa.types import Answer, Candidate, Chunk, Citation, Passage

DATA = Path(__file__).parent / "data" / "eval"
SOURCES = DATA / "sources"


@dataclass
class FakeAsker:
    """Answers from a script: question -> (answer text or None, confidence).

    Abstains below `settings.abstain_threshold` like the real pipeline; cites the first
    occurrence of the answer in the sources; latency changes on every call.
    """

    script: dict[str, tuple[str | None, float]]
    # The scripts below are written for this threshold, not for whatever the default is.
    settings: AskSettings = field(default_factory=lambda: AskSettings(abstain_threshold=0.35))
    sources_dir: Path = SOURCES
    index_dir: Path = Path("fake-index")
    interrupt_at: int | None = None  # raise KeyboardInterrupt on this call (0-based)
    calls: int = 0
    seen: list[AskSettings] = field(default_factory=list)  # the settings of every call

    def document_text(self, source: str) -> str:
        path = self.sources_dir / source
        if not path.is_file():
            raise KeyError(source)
        return path.read_text(encoding="utf-8")

    def _texts(self) -> dict[str, str]:
        return {p.name: p.read_text(encoding="utf-8") for p in sorted(self.sources_dir.glob("*.txt"))}

    def ask(self, question: str) -> Answer:
        if self.interrupt_at is not None and self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        self.calls += 1
        self.seen.append(self.settings)
        text, confidence = self.script.get(question, (None, 0.0))
        passages = tuple(
            Passage(Chunk(src, 0, len(t), t, 0), score=0.5) for src, t in self._texts().items()
        )
        latency = 10.0 + self.calls * 1.37
        if text is None or confidence < self.settings.abstain_threshold:
            return Answer(question, None, confidence=confidence, reason="not sure",
                          passages=passages, latency_ms=latency)
        source, doc = next((s, t) for s, t in self._texts().items() if text in t)
        start = doc.index(text)
        line = doc.count("\n", 0, start) + 1
        c = Citation(source, start, start + len(text), line, line, text)
        return Answer(question, Candidate(text, c, c, confidence), confidence=confidence,
                      passages=passages, latency_ms=latency)


JSONL_SCRIPT = {
    "When was the Harrow Point Lighthouse built?": ("1871", 0.9),
    "Who founded the Orchard Street Bakery?": ("Tomas and Eli Varga", 0.3),
    "What is the capital of Peru?": ("Wellmere", 0.2),
    "How tall is the tower?": ("41 metres", 0.8),
}


def test_evaluate_scores_every_question_in_order():
    qset = load_questions(DATA / "questions.jsonl")
    ev = evaluate(FakeAsker(JSONL_SCRIPT), qset)
    assert [r.id for r in ev.results] == ["l1", "b1", "u1", "t1"]
    assert not ev.partial and ev.done == 4
    # threshold 0.35: b1 (0.3) and u1 (0.2) abstain
    assert [r.predicted for r in ev.results] == ["1871", None, None, "41 metres"]
    m = ev.metrics
    assert m["em"] == pytest.approx(round(2 / 3, 4))
    assert m["abstain_unanswerable"] == 1.0
    assert m["verbatim"] == 1.0
    assert m.with_offsets == 2  # t1's gold is text-only
    assert ev.curve == ()  # not asked for
    summary = ev.to_json()
    assert summary["metrics"] == m.as_dict()
    assert summary["warnings"] == list(qset.warnings)


def test_predictions_follow_the_readme_format(tmp_path):
    qset = load_questions(DATA / "questions.jsonl")
    ev = evaluate(FakeAsker(JSONL_SCRIPT), qset)
    out = tmp_path / "pred.jsonl"
    write_predictions(out, ev.questions.questions, ev.answers)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(qset.questions)
    rows = [json.loads(line) for line in lines]
    assert [r["id"] for r in rows] == [q.id for q in qset.questions]
    for row in rows:
        assert list(row)[:7] == [
            "id", "question", "answer", "citations", "evidence", "passages", "confidence"
        ]
        assert row["read"] is None  # this fake does not say how many passages it read
        assert isinstance(row["latency_ms"], float)
        if row["answer"] is not None:
            c = row["citations"][0]
            text = (SOURCES / c["source"]).read_text(encoding="utf-8")
            assert text[c["start"] : c["end"]] == row["answer"]
        else:
            assert row["citations"] == [] and row["evidence"] is None


def without_latency(lines: list[str]) -> list[str]:
    """The lines as written, with only the trailing `"latency_ms": ...` cut out."""
    out = []
    for line in lines:
        cut = re.sub(r', "latency_ms": [0-9.]+}$', "}", line)
        assert cut != line  # every line carries its latency, last
        out.append(cut)
    return out


def test_predictions_are_byte_stable_except_latency():
    qset = load_questions(DATA / "questions.jsonl")
    first = evaluate(FakeAsker(JSONL_SCRIPT), qset)
    asker = FakeAsker(JSONL_SCRIPT, calls=100)  # other latencies
    second = evaluate(asker, qset)
    a = prediction_lines(qset.questions, first.answers)
    b = prediction_lines(qset.questions, second.answers)
    assert a != b  # latency differs...
    assert without_latency(a) == without_latency(b)  # ...and nothing else


def test_ctrl_c_keeps_what_is_done_and_marks_the_run_partial(tmp_path):
    qset = load_questions(DATA / "questions.jsonl")
    ev = evaluate(FakeAsker(JSONL_SCRIPT, interrupt_at=3), qset, with_curve=True)  # call 0 warms up
    assert ev.partial and ev.done == 2
    assert ev.metrics.questions == 2
    assert ev.curve == ()  # the sweep is skipped after an interrupted first pass
    out = tmp_path / "pred.jsonl"
    write_predictions(out, ev.questions.questions, ev.answers)
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["l1", "b1"]
    assert ev.to_json()["partial"] is True


def test_latency_is_measured_after_a_warm_up_question():
    qset = load_questions(DATA / "questions.jsonl")
    asker = FakeAsker(JSONL_SCRIPT)
    ev = evaluate(asker, qset)
    assert asker.calls == len(qset.questions) + 1  # the first question once more, untimed
    # The fake's latency grows by 1.37 ms per call: the timed answers are calls 2 to 5.
    assert [round(a.latency_ms, 2) for a in ev.answers] == [round(10 + n * 1.37, 2) for n in range(2, 6)]


def test_ctrl_c_during_the_warm_up_is_an_empty_partial_run():
    qset = load_questions(DATA / "questions.jsonl")
    ev = evaluate(FakeAsker(JSONL_SCRIPT, interrupt_at=0), qset)
    assert ev.partial and ev.done == 0


def test_sweep_runs_without_threshold_and_restores_it():
    qset = load_questions(DATA / "questions.jsonl")
    asker = FakeAsker(JSONL_SCRIPT)
    ev = evaluate(asker, qset, with_curve=True)
    assert asker.settings.abstain_threshold == 0.35
    assert asker.calls == 9  # a warm-up question, then two passes
    # the sweep reads every passage: stopping after the first ones depends on the threshold
    sweep = asker.seen[5:]
    assert all(s.abstain_threshold == float("-inf") and s.read_first >= s.top_k for s in sweep)
    assert asker.seen[1].read_first == 2 and asker.settings == asker.seen[1]
    # with no threshold every scripted question is answered
    assert [r.predicted for r in ev.unthresholded] == ["1871", "Tomas and Eli Varga", "Wellmere", "41 metres"]
    # the lowest threshold answers every answerable question (3) and abstains on none
    low, high = ev.curve[0], ev.curve[-1]
    assert low.answerable_answered == 1.0 and low.unanswerable_abstained == 0.0
    assert high.answerable_answered == 0.0 and high.unanswerable_abstained == 1.0
    assert low.answered_accuracy == 1.0 and high.answered_accuracy is None


# --- calibration: thresholds chosen by hand ----------------------------------------------


def _r(qid: str, answerable: bool, confidence: float, right: bool) -> QuestionResult:
    return QuestionResult(
        id=qid, question="q?", line=1, gold=("g",) if answerable else (), predicted="p",
        confidence=confidence, latency_ms=1.0, answerable=answerable, has_offsets=False,
        em=None, f1=None, contains=right if answerable else None, citation_hit=None,
        evidence_hit=None, rank=None, gold_retrieved=None, verbatim=True,
    )


def test_calibration_maximises_questions_handled_correctly():
    results = [
        _r("a", True, 0.9, True),
        _r("b", True, 0.7, True),
        _r("c", True, 0.5, False),
        _r("u", False, 0.4, False),
        _r("v", False, 0.6, False),
    ]
    # threshold between 0.6 and 0.7 (0.65): a, b right; u, v abstained -> 4 of 5.
    # Below 0.4: 2 of 5; at 0.45: 3; at 0.55: 3; above 0.9: 2.
    threshold, objective, curve = choose_threshold(results, current=0.35)
    assert threshold == pytest.approx(0.65)
    assert "handled correctly" in objective
    best = max(p.handled for p in curve)
    assert best == pytest.approx(0.8)


def test_calibration_without_unanswerable_keeps_correct_answers():
    results = [_r("a", True, 0.9, True), _r("b", True, 0.3, True), _r("c", True, 0.1, False)]
    # current 0.35 would drop b (correct, 0.3): lower to between 0.1 and 0.3
    threshold, objective, _ = choose_threshold(results, current=0.35)
    assert threshold == pytest.approx(0.2)
    assert "no unanswerable" in objective
    # a threshold already below every correct answer is kept
    assert choose_threshold(results, current=0.15)[0] == 0.15


def test_save_calibration_merges_into_config_and_writes_the_curve(tmp_path):
    AskSettings(top_k=7).save(tmp_path)
    results = [_r("a", True, 0.9, True), _r("u", False, 0.4, False)]
    calibration = calibrate(results, current=0.35)
    save_calibration(calibration, tmp_path, "q.jsonl", "reader 1234")
    settings = AskSettings.load(tmp_path)
    assert settings.abstain_threshold == calibration.threshold == pytest.approx(0.65)
    assert settings.top_k == 7  # other settings kept
    saved = json.loads((tmp_path / ASK_CONFIG_FILE).read_text())["calibration"]
    assert saved["abstain_threshold"] == calibration.threshold
    assert saved["previous_threshold"] == 0.35
    assert len(saved["curve"]) == len(calibration.curve) == 3
    assert saved["chosen"]["handled"] == 1.0
    assert saved["answerer"] == "reader 1234"


def test_calibrated_threshold_changes_what_the_pipeline_answers(tmp_path):
    qset = load_questions(DATA / "questions.jsonl")
    ev = evaluate(FakeAsker(JSONL_SCRIPT), qset, with_curve=True)
    calibration = calibrate(ev.unthresholded, ev.threshold)
    again = evaluate(FakeAsker(JSONL_SCRIPT, settings=replace(AskSettings(), abstain_threshold=calibration.threshold)), qset)
    handled = sum(r.correct for r in again.results) / again.done
    assert handled == pytest.approx(calibration.chosen.handled)
    assert handled >= sum(r.correct for r in ev.results) / ev.done


def test_the_curve_at_the_current_threshold_reproduces_the_run():
    qset = load_questions(DATA / "questions.jsonl")
    ev = evaluate(FakeAsker(JSONL_SCRIPT), qset, with_curve=True)
    at = evaluate_threshold(ev.unthresholded, ev.threshold)
    assert at.answerable_answered == pytest.approx(1 - ev.metrics["abstain_answerable"], abs=1e-4)
    assert at.unanswerable_abstained == ev.metrics["abstain_unanswerable"] == 1.0
    html = render_report(ev)
    assert "100.0% of unanswerable questions abstained" in html
