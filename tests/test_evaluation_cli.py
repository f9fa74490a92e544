"""`qa eval`: the command over a scripted pipeline (fast) and over the real one (slow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa.cli import app, main
from qa.cli.eval_cmd import resolve_sources
from qa.config import ASK_CONFIG_FILE, AskSettings, default_sources
from tests.test_evaluation_report import metrics_in
from tests.test_evaluation_runner import DATA, JSONL_SCRIPT, SOURCES, FakeAsker, without_latency


def test_help_states_the_sources_rule():
    result = CliRunner().invoke(app, ["eval", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "`sources/` folder beside QUESTIONS" in text
    for option in ("--sources", "--index", "--predictions", "--report", "--json", "--calibrate"):
        assert option in text


def test_sources_default_to_a_sources_folder_beside_the_questions(tmp_path):
    assert resolve_sources(DATA / "questions.csv", None) == SOURCES.resolve()
    assert resolve_sources(tmp_path / "q.csv", None) == default_sources()
    assert resolve_sources(DATA / "questions.csv", tmp_path) == tmp_path


def test_unreadable_questions_file_is_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["eval", str(tmp_path / "nope.csv")])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("qa: error: cannot read questions file") and err.count("\n") == 1


@pytest.fixture
def fake_pipeline(monkeypatch):
    """Pipeline.open returns a scripted asker (records what it was opened with)."""
    opened: dict = {}
    asker = FakeAsker(JSONL_SCRIPT)

    def fake_open(index_dir=None, *, sources=None, progress=None, **kwargs):
        opened.update(index_dir=index_dir, sources=sources)
        return asker

    monkeypatch.setattr("qa.pipeline.Pipeline.open", fake_open)
    return asker, opened


def test_json_output_predictions_and_report(tmp_path, capsys, fake_pipeline):
    asker, opened = fake_pipeline
    pred, report = tmp_path / "p.jsonl", tmp_path / "r.html"
    main(["eval", str(DATA / "questions.jsonl"), "--json", "--predictions", str(pred),
          "--report", str(report)])
    out, err = capsys.readouterr()
    summary = json.loads(out)
    assert opened["sources"] == SOURCES.resolve()  # the sources/ beside the file
    assert summary["done"] == summary["total"] == 4 and summary["partial"] is False
    assert summary["metrics"]["verbatim"] == 1.0
    assert metrics_in(report.read_text()) == summary["metrics"]
    assert len(pred.read_text().splitlines()) == 4
    assert "qa: warning: line 3: not valid JSON" in err
    assert "qa: note: 3 malformed row(s) skipped" in err


def test_terminal_table(capsys, fake_pipeline):
    main(["eval", str(DATA / "questions.jsonl")])
    out = capsys.readouterr().out
    for name in ("em", "hit@10", "mrr@10", "abstain_unanswerable", "latency_p95_ms"):
        assert name in out
    assert "4 questions: 3 answerable (2 with offsets), 1 unanswerable" in " ".join(out.split())


def test_ctrl_c_writes_partial_files_and_exits_130(tmp_path, capsys, fake_pipeline):
    asker, _ = fake_pipeline
    asker.interrupt_at = 4  # call 0 is the untimed warm-up
    pred, report = tmp_path / "p.jsonl", tmp_path / "r.html"
    with pytest.raises(SystemExit) as info:
        main(["eval", str(DATA / "questions.jsonl"), "--predictions", str(pred),
              "--report", str(report), "--json"])
    assert info.value.code == 130
    out, err = capsys.readouterr()
    assert json.loads(out)["partial"] is True
    assert len(pred.read_text().splitlines()) == 3
    assert 'id="partial"' in report.read_text()
    assert "interrupted after 3 of 4 questions" in err


# --- end to end through the real pipeline and model ----------------------------------------


def _copy_fixture(tmp_path: Path, questions: str) -> Path:
    shutil.copytree(SOURCES, tmp_path / "sources")
    shutil.copy(DATA / questions, tmp_path / questions)
    return tmp_path / questions


def _check_predictions(path: Path, sources: Path, n: int) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == n
    for row in rows:
        if row["answer"] is not None:
            c = row["citations"][0]
            text = (sources / c["source"]).read_text(encoding="utf-8")
            assert text[c["start"] : c["end"]] == row["answer"]
    return rows


@pytest.mark.slow
def test_squad_v2_end_to_end_with_calibration(tmp_path, capsys):
    questions = _copy_fixture(tmp_path, "squad-v2.0.json")
    index, pred, report = tmp_path / "index", tmp_path / "p.jsonl", tmp_path / "r.html"
    main(["eval", str(questions), "--index", str(index), "--predictions", str(pred),
          "--report", str(report), "--json", "--calibrate"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["format"] == "squad"
    assert summary["counts"]["all"] == 4 and summary["counts"]["unanswerable"] == 1
    # every answerable paragraph is in the sources, so all gold has offsets
    assert summary["counts"]["answerable with offsets"] == 3
    assert summary["metrics"]["verbatim"] in (1.0, None)
    rows = _check_predictions(pred, tmp_path / "sources", 4)
    assert [r["id"] for r in rows] == ["bq1", "bq2", "bq3", "bq5"]
    assert all(r["passages"] for r in rows)
    assert metrics_in(report.read_text()) == summary["metrics"]
    chosen = summary["calibration"]["abstain_threshold"]
    assert AskSettings.load(index).abstain_threshold == chosen
    saved = json.loads((index / ASK_CONFIG_FILE).read_text())
    assert saved["abstain_threshold"] == saved["calibration"]["abstain_threshold"] == chosen
    # The threshold was chosen on this reader's confidence: another answerer's record (the
    # hand-tuned extractor's had no name) leaves the reader its own.
    from qa.pipeline import Pipeline

    reader = Pipeline.open(index, build=False)
    assert saved["calibration"]["answerer"] == reader.answerer and reader.answerer.startswith("reader ")
    assert reader.settings.abstain_threshold == chosen
    own = reader._reader.calibration.threshold
    for record in ({"answerer": "reader 0123"}, {}):
        saved["calibration"] = record
        (index / ASK_CONFIG_FILE).write_text(json.dumps(saved))
        assert Pipeline.open(index, build=False).settings.abstain_threshold == own != chosen


@pytest.mark.slow
def test_csv_end_to_end_predictions_byte_stable_except_latency(tmp_path, capsys):
    questions = _copy_fixture(tmp_path, "questions.csv")
    index = tmp_path / "index"
    runs = []
    for name in ("a", "b"):
        pred = tmp_path / f"{name}.jsonl"
        report = tmp_path / f"{name}.html"
        main(["eval", str(questions), "--index", str(index), "--predictions", str(pred),
              "--report", str(report), "--json"])
        out, err = capsys.readouterr()
        summary = json.loads(out)
        assert summary["format"] == "csv" and summary["done"] == 4
        assert "line 5: 4 fields, the header has 3" in err
        assert metrics_in(report.read_text()) == summary["metrics"]
        _check_predictions(pred, tmp_path / "sources", 4)
        runs.append(pred.read_text(encoding="utf-8").splitlines())

    assert without_latency(runs[0]) == without_latency(runs[1])


@pytest.mark.slow
def test_real_sweep_reproduces_the_pipeline_at_its_threshold(tmp_path):
    """The curve is simulated from answers asked with no threshold; at the configured
    threshold it must agree with what the real pipeline answered."""
    from qa.evaluation.calibration import evaluate_threshold
    from qa.evaluation.questions import load_questions
    from qa.evaluation.runner import evaluate
    from qa.pipeline import Pipeline

    questions = _copy_fixture(tmp_path, "squad-v2.0.json")
    pipeline = Pipeline.open(tmp_path / "index", sources=tmp_path / "sources")
    ev = evaluate(pipeline, load_questions(questions), with_curve=True)
    assert pipeline.settings.abstain_threshold == ev.threshold  # restored after the sweep
    at = evaluate_threshold(ev.unthresholded, ev.threshold)
    assert at.answerable_answered == pytest.approx(1 - ev.metrics["abstain_answerable"], abs=1e-4)
    assert at.unanswerable_abstained == ev.metrics["abstain_unanswerable"]
    answered = {r.id: r.predicted for r in ev.results}
    for r in ev.unthresholded:
        if not r.abstained and r.confidence >= ev.threshold:
            assert answered[r.id] == r.predicted
