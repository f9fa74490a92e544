"""Question files -> `QuestionSet`: the bench JSONL, SQuAD JSON (v1.1, v2.0) and CSV.

A bad row never stops a run: it becomes a warning naming its line and is left out, so
one typo in an 800-question file costs one question. Only a file that cannot be read at
all (missing, not UTF-8, an unknown layout) raises `EvaluationInputError`.

SQuAD gives answer offsets into its own paragraph copies; `find_text(paragraph)` locates a
paragraph in the sources so the offsets become absolute. A paragraph that is not found
leaves its questions with text-only gold: they are still scored on EM/F1/contains, but
not on the offset metrics (citation_hit, evidence_hit, hit@k, mrr@10, read_hit).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from qa.errors import EvaluationInputError

log = logging.getLogger(__name__)

# `find_text(paragraph) -> (source, offset)` of its first occurrence, or None.
FindText = Callable[[str], "tuple[str, int] | None"]
# `text_of(source) -> the document text`, or None when there is no such source.
TextOf = Callable[[str], "str | None"]


@dataclass(frozen=True, slots=True)
class GoldAnswer:
    """An accepted answer; with `source`/`start`/`end` when we know where it stands."""

    text: str
    source: str | None = None
    start: int | None = None
    end: int | None = None

    @property
    def has_offsets(self) -> bool:
        return self.source is not None and self.start is not None and self.end is not None


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    question: str
    answers: tuple[GoldAnswer, ...]  # empty: the sources do not answer it
    line: int  # 1-based line of the file where the question stands

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    @property
    def has_offsets(self) -> bool:
        return any(a.has_offsets for a in self.answers)


@dataclass(frozen=True, slots=True)
class QuestionSet:
    path: str
    format: str  # "jsonl", "squad" or "csv"
    questions: tuple[Question, ...]
    warnings: tuple[str, ...] = ()  # one per malformed row or unusable gold answer
    skipped: int = 0  # malformed rows left out
    text_only: int = 0  # SQuAD questions whose paragraph was not found in the sources

    @property
    def notes(self) -> tuple[str, ...]:
        """What a reader of the results should know about how they were scored."""
        out = []
        if self.skipped:
            out.append(f"{self.skipped} malformed row(s) skipped (see the warnings)")
        if self.text_only:
            out.append(
                f"{self.text_only} question(s) scored by answer text only: their paragraph "
                "was not found in the sources"
            )
        return tuple(out)


def load_questions(path: Path, *, find_text: FindText | None = None) -> QuestionSet:
    """Read a questions file; its format comes from the suffix, else from the content.

    For SQuAD, `find_text` recovers absolute offsets; without it the gold is text-only
    and nothing is counted as not found (the caller has not looked yet).
    """
    path = Path(path)
    raw = _read(path)
    fmt = _detect_format(path, raw)
    if fmt == "csv":
        return _load_csv(path, raw)
    if fmt == "jsonl":
        return _load_jsonl(path, raw)
    return _load_squad(path, raw, find_text)


def verify_offsets(qset: QuestionSet, text_of: TextOf) -> QuestionSet:
    """Demote gold answers whose offsets do not hold `text` in the sources to text-only.

    A wrong offset would silently turn every offset metric of that question into a miss;
    a warning says which line to fix instead.
    """
    warnings = list(qset.warnings)
    out = []
    texts: dict[str, str | None] = {}
    for q in qset.questions:
        answers = []
        for a in q.answers:
            if a.has_offsets:
                if a.source not in texts:
                    texts[a.source] = text_of(a.source)
                text = texts[a.source]
                if text is None:
                    warnings.append(
                        f"line {q.line}: gold answer {a.text!r} cites {a.source!r}, which is not "
                        "in the sources; scored by text only (is --sources the right folder?)"
                    )
                    a = GoldAnswer(a.text)
                elif text[a.start : a.end] != a.text:
                    warnings.append(
                        f"line {q.line}: gold answer {a.text!r} is not at {a.source}:"
                        f"{a.start}-{a.end} (found {text[a.start:a.end][:40]!r}); "
                        "scored by text only"
                    )
                    a = GoldAnswer(a.text)
            answers.append(a)
        out.append(replace(q, answers=tuple(answers)))
    return replace(qset, questions=tuple(out), warnings=tuple(warnings))


def text_finder(texts: dict[str, str]) -> FindText:
    """`find_text` over document texts: exact match, then the paragraph stripped."""
    order = sorted(texts)
    cache: dict[str, tuple[str, int] | None] = {}

    def find(paragraph: str) -> tuple[str, int] | None:
        if paragraph not in cache:
            cache[paragraph] = _find(paragraph)
        return cache[paragraph]

    def _find(paragraph: str) -> tuple[str, int] | None:
        for needle, shift in ((paragraph, 0), _stripped(paragraph)):
            if not needle:
                continue
            for source in order:
                at = texts[source].find(needle)
                if at >= 0:
                    return source, at - shift
        return None

    return find


def _stripped(paragraph: str) -> tuple[str, int]:
    # SQuAD offsets count from the paragraph's first character, so shift by what was cut.
    lead = len(paragraph) - len(paragraph.lstrip())
    return paragraph.strip(), lead


# --- reading -------------------------------------------------------------------------------


def _read(path: Path) -> str:
    if not path.is_file():
        raise EvaluationInputError(
            f"cannot read questions file {path}: no such file (give a .jsonl, SQuAD .json or .csv file)"
        )
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise EvaluationInputError(f"cannot read questions file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise EvaluationInputError(
            f"questions file {path} is not UTF-8 (byte {exc.start}): save it as UTF-8"
        ) from exc


def _detect_format(path: Path, raw: str) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".jsonl":
        return "jsonl"
    head = raw.lstrip()
    if suffix == ".json" or head.startswith("{"):
        # One JSON document with "data" is SQuAD; a `.json` of one object a line is JSONL.
        try:
            doc = json.loads(raw)
        except ValueError:
            if head.startswith("{") and "\n" in head.strip():
                return "jsonl"
            raise EvaluationInputError(
                f"questions file {path} is not valid JSON: give SQuAD JSON, one JSON object "
                "a line (.jsonl) or a CSV with a question,answer header"
            ) from None
        if isinstance(doc, dict) and isinstance(doc.get("data"), list):
            return "squad"
        if isinstance(doc, dict) and "question" in doc:
            return "jsonl"  # a one-question JSONL file
        raise EvaluationInputError(
            f"questions file {path} is JSON but not SQuAD (no top-level \"data\" list): "
            "give SQuAD JSON, JSON Lines or CSV"
        )
    if head.lower().startswith(("question", "id")):
        return "csv"
    raise EvaluationInputError(
        f"cannot tell the format of questions file {path}: name it .jsonl, .json (SQuAD) "
        "or .csv (with a question,answer header)"
    )


def _finish(path: Path, fmt: str, rows: Iterator[Question | str], text_only: int = 0) -> QuestionSet:
    """Collect questions and warnings; a repeated id is a malformed row (ids pair results)."""
    questions: list[Question] = []
    warnings: list[str] = []
    seen: dict[str, int] = {}
    skipped = 0
    for row in rows:
        if isinstance(row, str):
            warnings.append(row)
            skipped += 1
        elif row.id in seen:
            warnings.append(f"line {row.line}: id {row.id!r} repeats line {seen[row.id]}; skipped")
            skipped += 1
        else:
            seen[row.id] = row.line
            questions.append(row)
    for w in warnings:
        log.warning("%s: %s", path, w)
    if not questions:
        detail = f" ({warnings[0]})" if warnings else ""
        raise EvaluationInputError(f"questions file {path} holds no usable question{detail}")
    return QuestionSet(str(path), fmt, tuple(questions), tuple(warnings), skipped, text_only)


# --- JSON Lines (bench/README.md) ----------------------------------------------------------


def _load_jsonl(path: Path, raw: str) -> QuestionSet:
    def rows() -> Iterator[Question | str]:
        for n, line in enumerate(raw.splitlines(), 1):
            if line.strip():
                yield _jsonl_row(line, n)

    return _finish(path, "jsonl", rows())


def _jsonl_row(line: str, n: int) -> Question | str:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        return f"line {n}: not valid JSON ({exc.msg} at column {exc.colno}); skipped"
    if not isinstance(obj, dict):
        return f"line {n}: expected a JSON object with \"question\" and \"answers\"; skipped"
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        return f"line {n}: missing or empty \"question\"; skipped"
    answers = obj.get("answers")
    if not isinstance(answers, list):
        return f"line {n}: \"answers\" must be a list (empty when unanswerable); skipped"
    gold = []
    for i, a in enumerate(answers):
        parsed = _jsonl_answer(a)
        if parsed is None:
            return (
                f"line {n}: answer {i + 1} needs a non-empty \"text\" and, if any, all of "
                "\"source\", \"start\", \"end\" with 0 <= start < end; skipped"
            )
        gold.append(parsed)
    qid = obj.get("id")
    qid = str(qid) if qid is not None and str(qid).strip() else f"line-{n}"
    return Question(qid, question.strip(), tuple(gold), n)


def _jsonl_answer(a: Any) -> GoldAnswer | None:
    if not isinstance(a, dict) or not isinstance(a.get("text"), str) or not a["text"]:
        return None
    where = [a.get(k) for k in ("source", "start", "end")]
    if all(w is None for w in where):
        return GoldAnswer(a["text"])
    source, start, end = where
    ints = all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end))
    if not isinstance(source, str) or not ints or not 0 <= start < end:
        return None
    return GoldAnswer(a["text"], source, start, end)


# --- SQuAD JSON v1.1 / v2.0 ----------------------------------------------------------------


class _Lines:
    """Line numbers of SQuAD questions: the line of each id, searched in file order."""

    def __init__(self, raw: str):
        self.raw = raw
        self.cursor = 0
        self.line = 1

    def of(self, qid: Any) -> int:
        if qid is not None:
            for needle in (json.dumps(qid), json.dumps(qid, ensure_ascii=False)):
                at = self.raw.find(needle, self.cursor)
                if at >= 0:
                    self.line += self.raw.count("\n", self.cursor, at)
                    self.cursor = at
                    break
        return self.line


def _load_squad(path: Path, raw: str, find_text: FindText | None) -> QuestionSet:
    doc = json.loads(raw)
    lines = _Lines(raw)
    text_only = 0

    def rows() -> Iterator[Question | str]:
        nonlocal text_only
        for a, article in enumerate(doc["data"]):
            paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
            if not isinstance(paragraphs, list):
                yield f"line {lines.line}: data[{a}] has no \"paragraphs\" list; skipped"
                continue
            for p, para in enumerate(paragraphs):
                where = f"data[{a}].paragraphs[{p}]"
                if not isinstance(para, dict) or not isinstance(para.get("context"), str):
                    yield f"line {lines.line}: {where} has no \"context\" text; skipped"
                    continue
                qas = para.get("qas")
                if not isinstance(qas, list):
                    yield f"line {lines.line}: {where} has no \"qas\" list; skipped"
                    continue
                context = para["context"]
                located = find_text(context) if find_text is not None and qas else None
                for qa in qas:
                    row = _squad_row(qa, context, located, lines)
                    if isinstance(row, Question) and row.answerable and find_text is not None:
                        if not row.has_offsets:
                            text_only += 1
                    yield row

    qset = _finish(path, "squad", rows())
    return replace(qset, text_only=text_only)


def _squad_row(
    qa: Any, context: str, located: tuple[str, int] | None, lines: _Lines
) -> Question | str:
    if not isinstance(qa, dict):
        return f"line {lines.line}: a \"qas\" entry is not an object; skipped"
    n = lines.of(qa.get("id"))
    question = qa.get("question")
    if not isinstance(question, str) or not question.strip():
        return f"line {n}: missing or empty \"question\"; skipped"
    qid = qa.get("id")
    if qid is None or not str(qid).strip():
        return f"line {n}: question {question.strip()[:40]!r} has no \"id\"; skipped"
    answers = [] if qa.get("is_impossible") else qa.get("answers", [])
    if not isinstance(answers, list):
        return f"line {n}: \"answers\" must be a list; skipped"
    gold: list[GoldAnswer] = []
    for i, a in enumerate(answers):
        if not isinstance(a, dict) or not isinstance(a.get("text"), str) or not a["text"]:
            return f"line {n}: answer {i + 1} has no \"text\"; skipped"
        start = a.get("answer_start")
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            return f"line {n}: answer {i + 1} has no valid \"answer_start\"; skipped"
        g = _locate(a["text"], start, context, located)
        if g not in gold:  # SQuAD repeats an answer once per annotator
            gold.append(g)
    return Question(str(qid), question.strip(), tuple(gold), n)


def _locate(text: str, start: int, context: str, located: tuple[str, int] | None) -> GoldAnswer:
    if located is None:
        return GoldAnswer(text)
    source, base = located
    if context[start : start + len(text)] != text:
        # A few SQuAD answer_starts are off by a character or two: take the nearest match.
        hits = [i for i in _occurrences(context, text)]
        if not hits:
            return GoldAnswer(text)
        start = min(hits, key=lambda i: abs(i - start))
    return GoldAnswer(text, source, base + start, base + start + len(text))


def _occurrences(haystack: str, needle: str) -> Iterator[int]:
    at = haystack.find(needle)
    while at >= 0:
        yield at
        at = haystack.find(needle, at + 1)


# --- CSV -----------------------------------------------------------------------------------


def _load_csv(path: Path, raw: str) -> QuestionSet:
    reader = csv.reader(io.StringIO(raw, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        header = []
    names = [h.strip().lower() for h in header]
    if "question" not in names or "answer" not in names:
        raise EvaluationInputError(
            f"CSV questions file {path} needs a header row with `question,answer` "
            f"(and optionally `id`); found {','.join(header) or 'nothing'}"
        )
    col = {name: names.index(name) for name in ("question", "answer", "id") if name in names}

    def rows() -> Iterator[Question | str]:
        first = reader.line_num + 1
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield f"line {first}: not valid CSV ({exc}); skipped"
                return  # the csv module cannot resynchronise after a broken quote
            n, first = first, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                yield f"line {n}: {len(record)} fields, the header has {len(header)}; skipped"
                continue
            question = record[col["question"]].strip()
            if not question:
                yield f"line {n}: empty question; skipped"
                continue
            answer = record[col["answer"]].strip()
            qid = record[col["id"]].strip() if "id" in col else ""
            gold = (GoldAnswer(answer),) if answer else ()
            yield Question(qid or f"line-{n}", question, gold, n)

    return _finish(path, "csv", rows())
