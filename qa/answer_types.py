"""What kind of thing a question asks for, and the spans of that kind in a sentence.

Patterns, not a model: dates, years, numbers, money, percentages, measures and proper
names cover the typed questions (who, when, where, how many, how much, which...). Other
questions ("what", "why", "how") are answered with the whole sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AnswerType:
    name: str

    @property
    def typed(self) -> bool:
        return self.name != "other"


OTHER = AnswerType("other")

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|hundred|thousand|million|billion|dozen|several|first|second|third|"
    r"fourth|fifth|sixth|seventh|eighth|ninth|tenth)"
)
_SCALE = r"(?:\s(?:hundred|thousand|million|billion|trillion))?"
_NUM = r"\d[\d,]*(?:\.\d+)?(?:[½¼¾])?"

PATTERNS: dict[str, re.Pattern[str]] = {
    "date": re.compile(
        rf"\b(?:{_MONTH}\s\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s\d{{4}})?|\d{{1,2}}\s{_MONTH}(?:\s\d{{4}})?|"
        rf"{_MONTH}\s\d{{4}}|(?:1[0-9]|20)\d\d(?:s)?)\b"
    ),
    "year": re.compile(r"\b(?:1[0-9]|20)\d\d(?:s)?\b"),
    "money": re.compile(
        rf"(?:(?:about|around|nearly|over|almost|roughly)\s)?[$€£¥]\s?{_NUM}{_SCALE}|\b{_NUM}{_SCALE}\s(?:dollars|euros|pounds|yen)\b"
    ),
    "percent": re.compile(rf"\b{_NUM}\s?(?:%|percent\b|per cent\b)"),
    "measure": re.compile(
        rf"\b{_NUM}{_SCALE}[\s-]?(?:km|kilometers?|kilometres?|miles?|m|meters?|metres?|feet|foot|ft|"
        r"yards?|inches?|cm|mm|kg|kilograms?|pounds|lbs?|tons?|tonnes?|mph|km/h|degrees?|°[CF]?|"
        r"seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries?)\b"
    ),
    "number": re.compile(rf"\b(?:{_NUM}{_SCALE}|{_NUMBER_WORD}(?:[\s-]{_NUMBER_WORD})*)\b", re.IGNORECASE),
    # Runs of capitalised words, allowing short joiners ("Bank of America", "Levi's").
    "name": re.compile(
        r"\b[A-Z][\w'’.&-]*(?:(?:\s(?:of|the|de|del|da|van|von|and|&|for))*\s[A-Z0-9][\w'’.&-]*)*"
    ),
}

# Question cues, most specific first: (pattern, type). Checked on the lower-cased question.
_CUES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bhow much (?:money|did|does|do|was|were|is|are|would|will|had|has)?\b.*\b(cost|pay|paid|spend|spent|worth|price|charge|earn|raise|fund|budget|revenue|fee)"), "money"),
    (re.compile(r"\bhow much\b"), "number"),
    (re.compile(r"\bwhat (?:percentage|percent|share|proportion)\b"), "percent"),
    (re.compile(r"\bhow many\b"), "number"),
    (re.compile(r"\bhow (?:long|far|tall|high|wide|deep|big|heavy|fast|old)\b"), "measure"),
    (re.compile(r"\b(?:what|which|in what|by what|until what|since what) (?:year|decade|century)\b"), "year"),
    (re.compile(r"\b(?:what|which) (?:date|day|month)\b"), "date"),
    (re.compile(r"^\s*when\b|\bwhen (?:did|was|were|is|will|does|do)\b"), "date"),
    (re.compile(r"^\s*(?:who|whom|whose)\b|\bwho (?:is|was|were|did)\b"), "name"),
    (re.compile(r"^\s*where\b|\bwhere (?:did|was|were|is|will|does|do)\b"), "name"),
    (re.compile(r"\b(?:which|what) (?:[a-z]+ ){0,2}(?:team|company|country|city|state|person|player|group|organization|organisation|agency|station|stadium|network|band|artist|university|school|name|nation|league|conference)\b"), "name"),
    (re.compile(r"^\s*which\b"), "name"),
    (re.compile(r"\bwhat (?:number|score|amount)\b"), "number"),
]


def question_type(question: str) -> AnswerType:
    q = question.lower()
    for pattern, name in _CUES:
        if pattern.search(q):
            return AnswerType(name)
    return OTHER


# Spans of these types also satisfy a question of the key's type.
_ACCEPTS = {
    "date": ("date",),
    "year": ("year",),
    "money": ("money",),
    "percent": ("percent",),
    "measure": ("measure",),
    "number": ("money", "percent", "measure", "number"),
    "name": ("name",),
}


def candidate_spans(kind: AnswerType, text: str) -> list[tuple[int, int]]:
    """Spans of `text` that could answer a question of `kind`; longest first on overlap."""
    spans: list[tuple[int, int]] = []
    for name in _ACCEPTS.get(kind.name, ()):
        for m in PATTERNS[name].finditer(text):
            a, b = m.span()
            while b > a and text[b - 1] in ".,;:'’":
                b -= 1
            if b > a:
                spans.append((a, b))
    # Keep the longest of overlapping spans so "$5 million" wins over "5".
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    out: list[tuple[int, int]] = []
    for s in spans:
        if out and s[0] < out[-1][1]:
            if s[1] - s[0] > out[-1][1] - out[-1][0]:
                out[-1] = s
            continue
        out.append(s)
    return out
