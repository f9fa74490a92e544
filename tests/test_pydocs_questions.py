"""The Python-docs question file (tests/data/pydocs/) matches the pages as qa reads them.

The 19 pages its answers cite are in `pages.tar.xz`, so this needs no docs installed: the
file is rebuilt from them and must be the one committed, and every gold span must hold its
answer in the text `qa` extracts (what `qa eval` checks before scoring offsets).
"""

from __future__ import annotations

import importlib.util
import json
import tarfile
from pathlib import Path

from qa.evaluation.questions import load_questions, verify_offsets
from qa.ingest.loading import load_document

PYDOCS = Path(__file__).parent / "data" / "pydocs"


def builder():
    spec = importlib.util.spec_from_file_location("build_questions", PYDOCS / "build_questions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pages(tmp_path: Path) -> Path:
    root = tmp_path / "html"
    with tarfile.open(PYDOCS / "pages.tar.xz") as archive:
        archive.extractall(root, filter="data")
    return root


def test_the_question_file_is_what_the_pages_give(tmp_path):
    committed = [json.loads(line) for line in (PYDOCS / "questions.jsonl").read_text("utf-8").splitlines()]
    assert builder().build(pages(tmp_path)) == committed
    assert len([q for q in committed if q["answers"]]) >= 30
    assert len([q for q in committed if not q["answers"]]) >= 3
    assert len({q["id"] for q in committed}) == len(committed)


def test_qa_eval_accepts_every_gold_span(tmp_path):
    root = pages(tmp_path)
    qset = load_questions(PYDOCS / "questions.jsonl")
    checked = verify_offsets(qset, lambda source: load_document(root, Path(source)).text)
    assert checked.warnings == ()
    cited = {a.source for q in checked.questions for a in q.answers}
    assert all(a.has_offsets for q in checked.questions for a in q.answers)
    assert cited == {str(p.relative_to(root)) for p in root.rglob("*.html")}
