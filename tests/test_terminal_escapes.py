"""Documents and file names cannot drive the terminal: every control sequence they carry
reaches the screen, or a Markdown export, as visible characters."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qa.literal import literal
from tests.tui_fakes import FakePipeline, Scripted
from tui.exchange import build_exchange
from tui.transcript import exchange_markdown

OSC_52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # set the clipboard
OSC_0 = "\x1b]0;pwned\x07"  # set the window title
CLEAR = "\x1b[2J"  # clear the screen
OSC_8 = "\x1b]8;;http://evil.example\x1b\\the United States\x1b]8;;\x1b\\"  # a lying link
RLO = "\u202e"  # right-to-left override
HOSTILE = f"The station was launched in 1998 {OSC_52}by Russia {OSC_0}and {CLEAR}{OSC_8} {RLO}together."

# What may reach the terminal: rich's own colour codes (SGR), nothing else.
_ESCAPE = re.compile(rb"\x1b(\[[0-9;]*m)?")


def assert_inert(written: bytes) -> None:
    for match in _ESCAPE.finditer(written):
        assert match.group(1), f"raw escape in output: {written[match.start() : match.start() + 20]!r}"
    text = written.decode("utf-8")
    for raw in ("\x07", "\x9b", "\x9d", RLO, "\u202d"):  # BEL, C1 CSI and OSC, overrides
        assert raw not in text


def test_literal_makes_each_control_character_visible_one_for_one():
    shown = literal(HOSTILE)
    assert len(shown) == len(HOSTILE)  # offsets into the text stay valid
    assert "␛]52;c;ZWNobyBwd25lZA==␇" in shown and "␛]0;pwned␇" in shown and "␛[2J" in shown
    assert "␛]8;;http://evil.example␛\\the United States" in shown
    assert "\u202e" not in shown and "\ufffdtogether" in shown
    assert literal("a\tb\nc\r\nd\x85e\u2028f\ud800") == "a\tb\nc \nd\ufffde\ufffdf\ufffd"
    assert literal("line\nnext", keep_newlines=False) == "line next"


def colour_env() -> dict[str, str]:
    # FORCE_COLOR makes rich write as to a terminal (with its colour codes), as a person sees it.
    return {**os.environ, "FORCE_COLOR": "1", "COLUMNS": "200", "HF_HUB_OFFLINE": "1"}


@pytest.mark.slow
def test_qa_index_and_qa_ask_write_no_escape_from_a_document_or_a_file_name(tmp_path):
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "station.txt").write_text(HOSTILE + "\n\nThe crew will leave the station in 2030.\n")
    named = f"log{OSC_0}{RLO}.txt"
    (sources / named).write_text("The module was built in Moscow by engineers.\n")
    (sources / f"tool{CLEAR}.bin").write_bytes(b"\x00\x01binary")
    index = tmp_path / "index"

    def qa(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "qa", *args, "--index", str(index)],
            capture_output=True, env=colour_env(), timeout=600,
        )

    indexed = qa("index", str(sources))
    assert indexed.returncode == 0, indexed.stderr
    assert_inert(indexed.stdout + indexed.stderr)
    out = indexed.stdout.decode()
    assert "log␛]0;pwned␇\ufffd.txt" in out  # the names are there, visibly
    assert "tool␛[2J.bin" in out

    asked = qa("ask", "When was the station launched?", "--sources", str(sources))
    assert asked.returncode == 0, asked.stderr
    assert_inert(asked.stdout + asked.stderr)
    shown = asked.stdout.decode()
    assert "␛]52;c;ZWNobyBwd25lZA==␇" in shown  # the quote shows the sequence, inert


def test_the_markdown_export_writes_no_escape():
    documents = {f"a{OSC_0}.txt": HOSTILE + "\n"}
    question = f"When was it launched? {CLEAR}"
    pipeline = FakePipeline(documents, {question: Scripted(best=(f"a{OSC_0}.txt", "1998"))})
    exchange = build_exchange(1, pipeline.ask(question), pipeline)
    markdown = exchange_markdown(exchange)
    assert_inert(markdown.encode())
    assert "> The station was launched in 1998 ␛]52;c;ZWNobyBwd25lZA==␇by Russia" in markdown
    assert "a␛]0;pwned␇.txt:1" in markdown and "launched? ␛[2J" in markdown
    assert not any(unicode_control(c) for c in markdown if c != "\n")


def unicode_control(char: str) -> bool:
    import unicodedata

    return unicodedata.category(char) in ("Cc", "Cf") and char not in "\ufeff"


def test_log_lines_under_verbose_write_no_escape(capsys):
    import logging

    from qa.cli.logs import configure_logging

    configure_logging(verbose=True)  # -v: qa's and libraries' INFO lines reach stderr
    try:
        logging.getLogger("qa.index.indexing").warning("skipped %s", f"log{OSC_0}{RLO}.txt")
        logging.getLogger("pypdf").info("while reading: %s", HOSTILE)
        written = capsys.readouterr().err
    finally:
        configure_logging(verbose=False)
    assert_inert(written.encode())
    assert "skipped log␛]0;pwned␇" in written  # the name is there, visibly
    assert "␛]52;c;ZWNobyBwd25lZA==␇" in written
