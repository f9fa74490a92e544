"""The conversation as Markdown: each question, its answer, the quote, `file:line`, and
the cited file's sha256 when the answer was given (so a reader can check the quote)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from qa.literal import literal
from tui.exchange import Exchange


def _line(text: str) -> str:
    """One line of document text, control characters made visible: a reader may `cat` the
    export in a terminal, where OSC 52 or ESC[2J from a source would take effect."""
    return literal(" ".join(text.split()), keep_newlines=False)


def _quote(text: str) -> str:
    """A Markdown block quote of `text`, one `> ` per line."""
    lines = literal(text).splitlines()
    return "\n".join("> " + line if line.strip() else ">" for line in lines)


def _code(text: str) -> str:
    """Inline code that survives backticks in the text."""
    text = literal(text, keep_newlines=False)
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def exchange_markdown(exchange: Exchange) -> str:
    answer = exchange.answer
    lines = [f"## {exchange.number}. {_line(exchange.question)}", ""]
    if answer.best is None:
        lines += ["**Not in the sources.**"]
        if answer.reason:
            lines += ["", _line(answer.reason)]
        if exchange.closest:
            lines += ["", "Closest passages:", ""]
            for citation in exchange.closest:
                sha = exchange.sha256.get(citation.source, "")
                lines.append(f"- {_code(citation.location())} (sha256 `{sha}`)")
        return "\n".join(lines) + "\n"
    best = answer.best
    lines += [
        f"**Answer:** {_line(best.text)}",
        "",
        _quote(best.evidence.text),
        "",
        f"- Source: {_code(best.citation.location())}",
        f"- sha256: `{exchange.sha256.get(best.citation.source, '')}`",
        f"- Confidence: {answer.confidence:.2f}",
    ]
    for citation in best.also_in:
        sha = exchange.sha256.get(citation.source, "")
        lines.append(f"- Also in: {_code(citation.location())} (sha256 `{sha}`)")
    for n, alt in enumerate(answer.alternatives, 1):
        lines.append(
            f"- Alternative {n}: {_line(alt.text)} ({_code(alt.citation.location())})"
        )
    return "\n".join(lines) + "\n"


def transcript_markdown(exchanges: Iterable[Exchange], sources_dir: str, when: datetime) -> str:
    head = [
        "# qa transcript",
        "",
        f"- Sources: {_code(sources_dir)}",
        f"- Exported: {when.isoformat(timespec='seconds')}",
        "",
    ]
    body = [exchange_markdown(e) for e in exchanges]
    return "\n".join(head) + "\n".join(body)


def transcript_name(when: datetime) -> str:
    return f"qa-transcript-{when:%Y%m%d-%H%M%S}.md"


def write_transcript(
    exchanges: Iterable[Exchange], sources_dir: str, folder: Path, when: datetime | None = None
) -> Path:
    """Write `qa-transcript-YYYYmmdd-HHMMSS.md` in `folder`; return its path."""
    when = when or datetime.now()
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = Path(folder) / transcript_name(when)
    path.write_text(transcript_markdown(exchanges, sources_dir, when), encoding="utf-8")
    return path
