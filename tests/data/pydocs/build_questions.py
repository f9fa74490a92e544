"""Writes questions.jsonl: Python-docs questions with gold spans, from the pages as qa reads them.

    python tests/data/pydocs/build_questions.py [HTML_ROOT]

HTML_ROOT defaults to /usr/share/doc/python3.11/html (Debian's python3.11-doc
3.11.2-6+deb12u8: `apt-get install python3.11-doc`). Each gold answer is located inside a
context phrase that occurs once in the page's text as `qa.ingest.loading` extracts it, so the
offsets are those `qa eval` checks (`text[start:end] == answer`); rerun this script when
the HTML reading changes, and `tests/test_pydocs_questions.py` says when that is needed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from qa.ingest.loading import load_document

HERE = Path(__file__).parent
DEFAULT_ROOT = Path("/usr/share/doc/python3.11/html")

# (id, question, source page, context that occurs once in its text, answer inside it)
QUESTIONS = [
    ("p01", "What is the default recursion limit?", "whatsnew/2.0.html",
     "The default value is 1000", "1000"),
    ("p02", "How do I open a file in append mode?", "tutorial/inputoutput.html",
     "'a' opens the file for appending", "'a'"),
    ("p03", "What does enumerate return?", "library/functions.html",
     "Return an enumerate object.", "an enumerate object"),
    ("p04", "Which style guide documents the coding style of the standard library?",
     "faq/programming.html", "is documented as PEP 8", "PEP 8"),
    ("p05", "Which encoding does Python assume for source files by default?",
     "tutorial/interpreter.html", "Python source files are treated as encoded in UTF-8",
     "UTF-8"),
    ("p06", "Which exception is raised when the second argument of a division is zero?",
     "library/exceptions.html", "exception ZeroDivisionError", "ZeroDivisionError"),
    ("p07", "What does the pass statement do?", "tutorial/controlflow.html",
     "The pass statement does nothing.", "does nothing"),
    ("p08", "What does len() return?", "library/functions.html",
     "Return the length (the number of items) of an object.",
     "the length (the number of items) of an object"),
    ("p09", "How do I create a virtual environment called tutorial-env?", "tutorial/venv.html",
     "python3 -m venv tutorial-env", "python3 -m venv tutorial-env"),
    ("p10", "What suffix does the file name of a module have?", "tutorial/modules.html",
     "with the suffix .py appended", ".py"),
    ("p11", "What do list comprehensions provide?", "tutorial/datastructures.html",
     "List comprehensions provide a concise way to create lists.",
     "a concise way to create lists"),
    ("p12", "Which method adds an item to the end of a list?", "tutorial/datastructures.html",
     "list.append(x)\n- Add an item to the end of the list.", "list.append(x)"),
    ("p13", "How do I make a shallow copy of a list with slicing?",
     "tutorial/datastructures.html", "Return a shallow copy of the list.  Equivalent to a[:].",
     "a[:]"),
    ("p14", "Which exception is raised when a dictionary key is not found?",
     "library/exceptions.html", "exception KeyError", "KeyError"),
    ("p15", "Why should I use the with keyword when working with files?",
     "tutorial/inputoutput.html",
     "the file is properly closed after its suite finishes, even if an exception is raised",
     "the file is properly closed after its suite finishes"),
    ("p16", "Which json function serializes an object to a JSON formatted str?",
     "library/json.html", "json.dumps(obj", "json.dumps"),
    ("p17", "How do I convert an integer to a binary string?", "library/functions.html",
     "bin(x)\n- Convert an integer number to a binary string", "bin(x)"),
    ("p18", "How long can an identifier be?", "reference/lexical_analysis.html",
     "Identifiers are unlimited in length.", "unlimited in length"),
    ("p19", "What is the default port number of an FTP connection?", "library/ftplib.html",
     "The default port number is 21", "21"),
    ("p20", "Which operator does floor division?", "tutorial/introduction.html",
     "you can use the // operator", "//"),
    ("p21", "Which character starts a comment in Python?", "tutorial/introduction.html",
     "Comments in Python start with the hash character, #,", "#"),
    ("p22", "Which function finds out which names a module defines?", "tutorial/modules.html",
     "The built-in function dir() is used to find out which names a module defines.",
     "dir()"),
    ("p23", "What is the default pickle protocol?", "library/pickle.html",
     "Currently the default protocol is 4", "4"),
    ("p24", "Which port does python -m http.server listen on by default?",
     "library/http.server.html", "The server listens to port 8000 by default.", "8000"),
    ("p25", "Which module implements the priority queue algorithm?", "library/heapq.html",
     "heapq — Heap queue algorithm", "heapq"),
    ("p26", "How do I concatenate two strings?", "tutorial/introduction.html",
     "Strings can be concatenated (glued together) with the + operator", "the + operator"),
    ("p27", "Which function returns the current value of the recursion limit?",
     "library/sys.html", "sys.getrecursionlimit()\n- Return the current value of the recursion",
     "sys.getrecursionlimit()"),
    ("p28", "How do I exit the interactive interpreter?", "tutorial/interpreter.html",
     "typing the following command: quit().", "quit()"),
    ("p29", "How do I get the current working directory?", "library/os.html",
     "os.getcwd()\n- Return a string representing the current working directory.",
     "os.getcwd()"),
    ("p30", "Which key combination exits the interpreter on Unix?", "tutorial/interpreter.html",
     "(Control-D on Unix, Control-Z on Windows)", "Control-D"),
    ("p31", "What type does division with / always return?", "tutorial/introduction.html",
     "Division (/) always returns a float.", "a float"),
    ("p32", "What does the -c option of the interpreter execute?", "tutorial/interpreter.html",
     "which executes the statement(s) in command", "the statement(s) in command"),
    # On topic, and not answered by the Python 3.11 documentation: the right answer is to abstain.
    ("u01", "How many bytes does an empty list take in memory?", None, None, None),
    ("u02", "Which Python release first shipped a JIT compiler?", None, None, None),
    ("u03", "Who is the current chair of the Python Software Foundation board?", None, None, None),
]


def build(root: Path) -> list[dict]:
    texts: dict[str, str] = {}
    rows = []
    for qid, question, source, context, answer in QUESTIONS:
        answers = []
        if source is not None:
            if source not in texts:
                texts[source] = load_document(root, Path(source)).text
            text = texts[source]
            if text.count(context) != 1:
                raise SystemExit(f"{qid}: context found {text.count(context)} times in {source}")
            start = text.index(context) + context.index(answer)
            end = start + len(answer)
            assert text[start:end] == answer
            answers.append({"text": answer, "source": source, "start": start, "end": end})
        rows.append({"id": qid, "question": question, "answers": answers})
    return rows


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_ROOT
    rows = build(root)
    with open(HERE / "questions.jsonl", "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} questions written to {HERE / 'questions.jsonl'}")


if __name__ == "__main__":
    main()
