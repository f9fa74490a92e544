"""Why an answer abstained, in words the person can act on."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from qa.index.lexical import terms

# Words that shape a question without saying what it is about; not in every stop list.
_QUESTION_FORM_WORDS = (
    "what which who whom whose when where why how do does did should would could can "
    "will shall may might must is are was were has have had many much"
)
_WORD = re.compile(r"\w[\w'’.-]*\w|\w")


@lru_cache(maxsize=1)
def _question_form() -> frozenset[str]:
    return frozenset(terms(_QUESTION_FORM_WORDS)) | frozenset(_QUESTION_FORM_WORDS.split())


def absent_words_reason(question: str, known: Callable[[str], bool]) -> str:
    """Why the answer abstained: 'nothing in the sources mentions X', naming the question's
    own words (as written) whose stems the sources lack (`known(stem)`), when at least half
    of its content words are absent: then the question is about something else. Fewer absent
    words are a paraphrase ("What venue ..." of a text that says "stadium"), and naming
    them would tell the person the sources lack what they do hold."""
    form = _question_form()
    words = [m.group() for m in _WORD.finditer(question) if terms(m.group()) and m.group().lower() not in form]
    content = [w for w in words if not set(terms(w)) <= form]
    missing = [w for w in content if not any(known(t) for t in terms(w))]
    if not missing or 2 * len(missing) < len(content):
        return "the closest passages do not answer the question"
    names = list(dict.fromkeys(missing))[:4]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"nothing in the sources mentions {listed}"
