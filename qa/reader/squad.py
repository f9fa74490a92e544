"""SQuAD 1.1/2.0 JSON files as small frozen values (the official layout)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from qa.errors import QAError


class SquadFormatError(QAError):
    """The training file is not in SQuAD's JSON layout."""


@dataclass(frozen=True, slots=True)
class SquadQuestion:
    id: str
    question: str
    # (start, end) character offsets of each accepted answer in the paragraph; empty when
    # the paragraph does not answer the question (SQuAD 2.0's is_impossible).
    answers: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class SquadParagraph:
    article: int  # index of its article: validation is split by article
    context: str
    questions: tuple[SquadQuestion, ...]


def read_squad(path: Path) -> list[SquadParagraph]:
    """Every paragraph of a SQuAD file with its questions, answers checked against the text."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise SquadFormatError(f"{path} is not a SQuAD JSON file ({exc}): pass train-v2.0.json") from exc
    paragraphs = []
    try:
        for a, article in enumerate(data):
            for p in article["paragraphs"]:
                context = p["context"]
                questions = []
                for q in p["qas"]:
                    answers = []
                    if not q.get("is_impossible", False):
                        for ans in q["answers"]:
                            start = int(ans["answer_start"])
                            end = start + len(ans["text"])
                            if context[start:end] == ans["text"]:
                                answers.append((start, end))
                        if not answers:
                            continue  # an answer that is not where it says: unusable
                    questions.append(SquadQuestion(str(q["id"]), q["question"], tuple(answers)))
                paragraphs.append(SquadParagraph(a, context, tuple(questions)))
    except (KeyError, TypeError, ValueError) as exc:
        raise SquadFormatError(f"{path}: unexpected SQuAD layout ({exc!r})") from exc
    return paragraphs
