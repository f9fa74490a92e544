"""The README's examples, run: the docs cannot drift from what `qa` does."""

from __future__ import annotations

import re
from pathlib import Path

from qa.pipeline import Pipeline
from tests.conftest import ROOT
from tests.test_cli import call

README = (ROOT / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL)


def _folded(text: str) -> str:
    return " ".join(text.split())


def test_the_console_example_is_what_qa_ask_prints(seeds_copy: Path, tmp_path: Path, capsys):
    (example,) = [b for b in _blocks("console") if "qa ask" in b]
    command, *shown = example.splitlines()
    question = re.search(r'qa ask "([^"]+)"', command).group(1)
    code, out, err = call(["ask", question, "--sources", str(seeds_copy), "--index", str(tmp_path / "idx")], capsys)
    assert code == 0, err
    # Each shown line (answer, quote, citation, alternatives) is printed, wrapping aside.
    for line in shown:
        assert _folded(line) in _folded(out), line


def test_the_python_example_prints_what_its_comment_says(seeds_copy: Path, tmp_path: Path, real_embedder):
    (example,) = [b for b in _blocks("python") if "Pipeline.open" in b]
    question = re.search(r'pipeline\.ask\("([^"]+)"\)', example).group(1)
    expected = re.search(r"print\(answer\.text, answer\.citation\.location\(\)\)\s*# (.+)", example).group(1)
    pipeline = Pipeline.open(tmp_path / "idx", sources=seeds_copy, embedder=real_embedder)
    answer = pipeline.ask(question)
    assert f"{answer.text} {answer.citation.location()}" == expected.strip()


def test_ci_runs_the_readmes_test_command_as_written():
    install_and_test = _blocks("bash")[1].strip()
    ci = (ROOT / ".ci" / "run").read_text()
    assert install_and_test.replace("pip install -e", "pip install -q -e") in ci
