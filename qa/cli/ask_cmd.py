"""`qa ask`: answer one question from the sources, verbatim, with its citation."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from qa.answer.quoting import quotation_marks
from qa.cli import READER_HELP, app
from qa.config import SHIPPED_READER
from qa.literal import literal
from qa.types import Answer, Candidate, Citation


def _line(text: str) -> str:
    """`text` on one line, white space runs made single spaces, control characters visible
    (a document must not be able to drive the terminal: OSC 52, ESC[2J, U+202E...)."""
    return literal(" ".join(text.split()), keep_newlines=False)


def _where(citation: Citation) -> str:
    return literal(citation.location(), keep_newlines=False)  # file names can hold escapes too


def _quote(candidate: Candidate) -> Text:
    """The evidence sentence with the answer highlighted; source text is never markup."""
    evidence, citation = candidate.evidence, candidate.citation
    opening, closing = quotation_marks(evidence.text)
    text = Text("  " + opening, style="dim")
    a = max(0, citation.start - evidence.start)
    b = min(len(evidence.text), citation.end - evidence.start)
    sentence = _line(evidence.text)  # one line on screen; offsets stay in the citation
    if 0 <= a < b <= len(evidence.text) and (b - a) < len(evidence.text):
        before = _line(evidence.text[:a])
        after = _line(evidence.text[b:])
        text.append(before + (" " if before and evidence.text[a - 1 : a].isspace() else ""))
        text.append(_line(citation.text), style="bold black on yellow")
        text.append((" " if after and evidence.text[b : b + 1].isspace() else "") + after)
    else:
        text.append(sentence, style="bold")
    text.append(closing, style="dim")
    return text


def print_answer(answer: Answer, console: Console) -> None:
    if answer.best is None:
        console.print(Text("Not in the sources: ", style="bold red") + Text(_line(answer.reason or "")))
        if answer.passages:
            console.print(Text("Closest passages:", style="dim"))
            for p in answer.passages[:3]:
                snippet = " ".join(p.text.split())
                snippet = _line(snippet[:110]) + ("…" if len(snippet) > 110 else "")
                where = literal(p.source, keep_newlines=False)
                console.print(Text(f"  {where} (chars {p.start}-{p.end}): ", style="cyan") + Text(snippet))
        return
    best = answer.best
    console.print(
        Text("Answer: ", style="bold") + Text(_line(best.text), style="bold green")
        + Text(f"   (confidence {answer.confidence:.2f})", style="dim")
    )
    console.print(_quote(best))
    console.print(
        Text(f"  — {_where(best.citation)}  (chars {best.citation.start}-{best.citation.end})", style="cyan")
    )
    for other in best.also_in:
        console.print(Text(f"  also in {_where(other)}", style="cyan"))
    if answer.alternatives:
        console.print(Text("Alternatives:", style="dim"))
        for n, alt in enumerate(answer.alternatives, 2):
            short = " ".join(alt.text.split())
            short = _line(short[:100]) + ("…" if len(short) > 100 else "")
            console.print(Text(f"  {n}. ") + Text(short) + Text(f"  — {_where(alt.citation)}", style="cyan"))


@app.command("ask")
def ask_command(
    question: str = typer.Argument(..., help="The question, in quotes."),
    sources: Path = typer.Option(None, "--sources", help="Folder of documents [default: seeds/, or the folder the index was built from]."),
    index: Path = typer.Option(None, "--index", help="Index folder [default: indexes/<name of sources>]."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object in the predictions format."),
    alternatives: int = typer.Option(3, "-n", "--alternatives", min=0, max=20, help="How many alternative answers to show."),
    reader: str = typer.Option(SHIPPED_READER, "--reader", help=READER_HELP),
    verify: bool = typer.Option(False, "--verify", help="Hash every file of the index before answering (opening checks sizes and modification times; builds hash everything)."),
) -> None:
    """Answer QUESTION verbatim from the sources, with file:line citations.

    The index is built or updated first when it is missing or stale.
    """
    from qa.answer.predictions import dumps_prediction
    from qa.cli.index_cmd import say_waiting
    from qa.cli.progress import progress_bar
    from qa.pipeline import Pipeline, check_question

    check_question(question)  # fail fast, before loading a model
    with progress_bar() as on_progress:
        pipeline = Pipeline.open(
            index, sources=sources, progress=on_progress, on_wait=say_waiting, reader=reader, verify=verify
        )
    if pipeline.notice:
        print(f"qa: note: {pipeline.notice}", file=sys.stderr)
    answer = pipeline.ask(question, alternatives=alternatives)
    if as_json:
        sys.stdout.write(dumps_prediction(answer) + "\n")
    else:
        print_answer(answer, Console(highlight=False))
