"""The CLI as a person uses it: help, one-line errors, exit codes, the index untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.cli import app, main
from qa.index import generations
from tests.conftest import ROOT
from tests.pdfs import make_pdf

QA = [sys.executable, "-m", "qa"]


def run(args: list[str], cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run(QA + args, cwd=cwd or ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def call(args: list[str], capsys) -> tuple[int, str, str]:
    """Run the CLI in this process (the model stays loaded between tests)."""
    try:
        main(args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code or 0
    out, err = capsys.readouterr()
    return code, out, err


def test_help_is_instant_and_loads_no_heavy_library():
    started = time.perf_counter()
    probe = (
        "import sys; from qa.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'faiss', 'textual', 'bm25s', 'transformers') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT).stdout
    assert "HEAVY []" in out
    assert time.perf_counter() - started < 3


def test_every_command_has_help_text():
    import typer.main

    group = typer.main.get_command(app)
    assert set(group.commands) >= {"index", "ask", "eval", "tui", "serve"}
    for name, command in group.commands.items():
        assert command.help and len(command.help) > 20, name
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert param.help, f"{name} --{param.name} has no help"


USAGE_MISTAKES = [
    ["ask"],  # no question
    ["eval"],  # no questions file
    ["bogus"],
    ["--bogus"],
    ["index", "--bogus"],
    ["ask", "-n", "50", "hello"],  # over the limit of alternatives
    ["ask", "-n", "many", "hello"],
    ["tui", "--sources"],  # an option without its value
]


@pytest.mark.parametrize("args", USAGE_MISTAKES, ids=" ".join)
def test_usage_mistakes_print_one_line_and_exit_2(args):
    result = run(args, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    line = one_line_error(result.stderr)
    assert "--help`" in line  # where to read how it is used


def test_usage_mistake_through_the_console_script():
    script = Path(sys.executable).parent / "qa"  # what `pip install -e .` put beside python
    result = subprocess.run([str(script), "index", "--bogus"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert one_line_error(result.stderr) == "qa: error: No such option: --bogus (see `qa index --help`)"


def test_usage_error_escapes_control_characters():
    result = run(["\x1b[31mred"], timeout=60)
    assert result.returncode == 2 and "\x1b" not in result.stderr
    assert "\\x1b[31mred" in one_line_error(result.stderr)


def test_version():
    from qa import __version__

    result = run(["--version"], timeout=60)
    assert result.returncode == 0 and result.stdout == f"qa {__version__}\n"


def test_help_shows_whole_descriptions_and_how_to_quit():
    env = {**os.environ, "COLUMNS": "80"}
    result = subprocess.run(QA + ["--help"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "ctrl+q quits" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    commands = result.stdout.split("Commands:")[1]
    assert "..." not in commands
    listed = " ".join(commands.split())
    import typer.main

    for name, command in typer.main.get_command(app).commands.items():
        first_sentence = " ".join(command.help.split("\n\n")[0].split()).split(". ")[0]
        assert f"{name} {first_sentence}" in listed


def test_core_never_imports_textual():
    for path in (ROOT / "qa").rglob("*.py"):
        if path.parent.name == "cli":
            continue  # the CLI may start the TUI, lazily
        source = path.read_text()
        assert "import textual" not in source and "from textual" not in source, path


def one_line_error(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("qa: error: ")
    return lines[0]


def test_missing_folder(tmp_path, capsys):
    code, _, err = call(["index", str(tmp_path / "nope"), "--index", str(tmp_path / "idx")], capsys)
    assert code == 1 and "does not exist" in one_line_error(err)


def test_empty_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = call(["index", str(tmp_path / "empty"), "--index", str(tmp_path / "idx")], capsys)
    assert code == 1 and "nothing to index" in one_line_error(err)


def make_bad_files(folder: Path) -> dict[str, str]:
    """Each kind of bad input, with a word its skip reason must contain."""
    folder.mkdir(exist_ok=True)
    (folder / "binary.txt").write_bytes(b"\x7fELF\x00\x00\x01\x02" * 100)
    (folder / "latin1.txt").write_bytes("Caf\xe9 au lait co\xfbte 2 \u20ac.".encode("latin-1", "replace"))
    with open(folder / "huge.txt", "wb") as f:  # 50 MB, sparse: cheap to make
        f.truncate(50 * 1024 * 1024)
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "dangling.txt").symlink_to(folder / "gone.txt")
    os.mkfifo(folder / "pipe.txt")
    (folder / "empty.txt").write_text("")
    (folder / "image.png").write_bytes(b"\x89PNG\r\n")
    return {"binary.txt": "binary", "latin1.txt": "UTF-8", "huge.txt": "MB", "dangling.txt": "",
            "pipe.txt": "", "empty.txt": "empty", "image.png": ""}


def test_bad_files_are_skipped_with_reasons_and_good_ones_indexed(tmp_path, capsys):
    folder = tmp_path / "src"
    expected = make_bad_files(folder)
    (folder / "good.txt").write_text("The Hubble telescope was launched in 1990 aboard Discovery.\n")
    code, out, err = call(["index", str(folder), "--index", str(tmp_path / "idx")], capsys)
    assert code == 0, err
    assert "indexed 1 files" in out
    for name, word in expected.items():
        line = next(l for l in out.splitlines() if l.strip().startswith(f"skipped {name}:"))
        assert word in line


def test_files_skipped_for_the_same_reason_are_reported_together(tmp_path, capsys):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "good.txt").write_text("The Hubble telescope was launched in 1990 aboard Discovery.\n")
    empty = [f"empty-{n}.txt" for n in range(7)]
    for name in empty:
        (folder / name).write_text("")
    (folder / "blank.md").write_text("   \n")
    code, out, err = call(["index", str(folder), "--index", str(tmp_path / "idx")], capsys)
    assert code == 0, err
    skipped = [line.strip() for line in out.splitlines() if line.strip().startswith("skipped")]
    assert skipped == [  # in the order the files were found, one line each
        "skipped blank.md: holds only whitespace",
        f"skipped 7 files: empty file ({', '.join(empty[:5])}, ... and 2 more)",
    ]


def test_only_bad_files_fail_and_keep_the_previous_index(tmp_path, capsys):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "good.txt").write_text("The Hubble telescope was launched in 1990 aboard Discovery.\n")
    index = tmp_path / "idx"
    assert call(["index", str(folder), "--index", str(index)], capsys)[0] == 0
    before = generations.current_generation(index)
    manifest_before = (before / "manifest.json").read_bytes()
    (folder / "good.txt").unlink()
    make_bad_files(folder)
    code, _, err = call(["index", str(folder), "--index", str(index)], capsys)
    assert code == 1 and "nothing to index" in one_line_error(err)
    assert generations.current_generation(index) == before
    assert (before / "manifest.json").read_bytes() == manifest_before


def test_incompatible_index_says_to_rebuild(tmp_path, capsys):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "a.txt").write_text("Voyager 1 left the heliosphere in 2012.\n")
    index = tmp_path / "idx"
    assert call(["index", str(folder), "--index", str(index)], capsys)[0] == 0
    manifest = generations.current_generation(index) / "manifest.json"
    data = json.loads(manifest.read_text())
    data["model"]["dim"] = 768
    manifest.write_text(json.dumps(data))
    code, _, err = call(["ask", "When did Voyager leave?", "--index", str(index)], capsys)
    assert code == 1 and "qa index --rebuild" in one_line_error(err)
    code, out, _ = call(["index", str(folder), "--index", str(index), "--rebuild"], capsys)
    assert code == 0 and "indexed 1 files" in out


@pytest.mark.parametrize("question", ["", "   ", "x" * 5000])
def test_bad_questions_get_one_line_errors(question, capsys):
    code, _, err = call(["ask", question, "--index", "/nonexistent/never/built"], capsys)
    assert code == 1 and "question" in one_line_error(err)


def test_ask_json_is_the_predictions_format(tmp_path, capsys):
    folder = tmp_path / "src"
    folder.mkdir()
    text = "Apollo 11 landed on the Moon in July 1969.\n\nThe crew were Armstrong, Aldrin and Collins.\n"
    (folder / "apollo.txt").write_text(text)
    code, out, err = call(["ask", "When did Apollo 11 land on the Moon?", "--sources", str(folder),
                           "--index", str(tmp_path / "idx"), "--json"], capsys)
    assert code == 0, err
    prediction = json.loads(out)
    assert {"question", "answer", "citations", "evidence", "passages", "latency_ms"} <= prediction.keys()
    citation = prediction["citations"][0]
    assert text[citation["start"] : citation["end"]] == prediction["answer"]
    assert "1969" in prediction["answer"] and citation["line_start"] == 1
    evidence = prediction["evidence"]
    assert evidence["start"] <= citation["start"] and citation["end"] <= evidence["end"]


def test_ask_human_output_shows_markup_literally(tmp_path, capsys):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "m.txt").write_text("The secret code word is [bold]pineapple[/bold] since 2019.\n")
    code, out, err = call(["ask", "What is the secret code word?", "--sources", str(folder),
                           "--index", str(tmp_path / "idx")], capsys)
    assert code == 0, err
    assert "[bold]pineapple[/bold]" in out and "m.txt:1" in out


def test_index_subprocess_on_the_seeds_copy(seeds_copy, tmp_path):
    """The real entry point, in a fresh process, twice: the second run embeds nothing."""
    first = run(["index", str(seeds_copy), "--index", str(tmp_path / "idx")])
    assert first.returncode == 0, first.stderr
    assert "indexed 2 files" in first.stdout and "word pieces/s" in first.stdout
    assert "DEBUG" not in first.stderr  # bm25s raises its own logger to DEBUG on import
    second = run(["index", str(seeds_copy), "--index", str(tmp_path / "idx")])
    assert "up to date" in second.stdout and "nothing re-embedded" in second.stdout


def test_library_warnings_reach_stderr_only_with_verbose(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    pages = [["The lighthouse was built in 1871."], ["Its first keeper was Marta Lindqvist."]]
    (folder / "keepers.pdf").write_bytes(make_pdf(pages, cff_font=True))  # pypdf warns on each page
    quiet = run(["index", str(folder), "--index", str(tmp_path / "quiet")])
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    verbose = run(["-v", "index", str(folder), "--index", str(tmp_path / "verbose")])
    assert verbose.returncode == 0, verbose.stderr
    assert "WARNING pypdf._cmap: fontTools is required" in verbose.stderr


def test_without_verbose_only_qa_records_are_shown(capsys):
    import logging

    from qa.cli.logs import configure_logging

    configure_logging(verbose=False)
    logging.getLogger("pypdf._cmap").warning("a library's warning")
    logging.getLogger("qa.ingest.loading").warning("a qa warning")
    logging.getLogger("qa.ingest.loading").info("a qa detail")
    err = capsys.readouterr().err
    assert err == "WARNING qa.ingest.loading: a qa warning\n"
    configure_logging(verbose=True)
    logging.getLogger("pypdf._cmap").warning("a library's warning")
    logging.getLogger("qa.ingest.loading").info("a qa detail")
    assert capsys.readouterr().err == "WARNING pypdf._cmap: a library's warning\nINFO qa.ingest.loading: a qa detail\n"
    configure_logging(verbose=False)


def test_the_defaults_do_not_depend_on_the_current_folder(tmp_path, monkeypatch):
    from qa.config import PROJECT_DIR, default_sources
    from qa.pipeline import default_index_dir

    monkeypatch.chdir(tmp_path)
    assert default_sources() == PROJECT_DIR / "seeds" == ROOT / "seeds"
    assert default_index_dir(default_sources()) == ROOT / "indexes" / "seeds"
    (tmp_path / "seeds").mkdir()  # a folder set up like a checkout keeps its own
    assert default_sources() == Path("seeds")
    assert default_index_dir(default_sources()) == Path("indexes") / "seeds"


def test_ask_from_another_folder_answers_from_the_default_seeds(tmp_path):
    question = "When will Russia withdraw from the International Space Station?"
    result = run(["ask", question, "--index", str(tmp_path / "idx")], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Answer: 2025" in result.stdout and "000_e0042af1a856563e.txt:" in result.stdout


@pytest.mark.slow
def test_train_reader_writes_calibrated_weights_and_a_summary(tmp_path):
    """`qa train-reader` end to end on the tiny SQuAD file (2 steps): weights that load,
    calibrated on the held-out article through retrieval, and the run's summary."""
    from qa.reader.weights import load_reader

    tiny = ROOT / "tests" / "data" / "reader" / "tiny-squad2.json"
    out = tmp_path / "reader"
    result = run(["train-reader", str(tiny), "--out", str(out), "--cache", str(tmp_path / "cache"), "--max-steps", "2"])
    assert result.returncode == 0, result.stderr
    assert "validation: SQuAD 2.0 token F1" in result.stdout
    summary = json.loads((out / "training-summary.json").read_text())
    assert summary["settings"]["steps"] == 2 and summary["calibration"]["heldout"]["questions"] > 0
    weights = load_reader(out)  # its sha256 checked against reader.json
    assert weights.sha256 == summary["sha256"] and weights.meta["kind"] == "cross-encoder"
