"""What kind of thing a question asks for, and the spans of that kind in a sentence.

Patterns, not a model: dates, years, clock times, scores, numbers, money, percentages,
measures, colours, ordinals, titles before names ("what position does X play") and proper
names cover the typed questions (who, when, where, how many, how much, which team, what
colour...). Other questions ("what", "why", "how") get a clause of the sentence.
`question_focus` finds the noun naming the kind of answer ("which *team*", "how many
*games*"), which answering compares with candidate spans through the model's token vectors.
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
_WEEKDAY = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    r"eighty|ninety|hundred|thousand|million|billion|dozen|several)"
)
_SCALE = r"(?:\s(?:hundred|thousand|million|billion|trillion))?"
_NUM = r"\d[\d,]*(?:\.\d+)?(?:[½¼¾])?"
_DASH = r"[-–—]"
_UNITS = (
    r"km|kilometers?|kilometres?|miles?|m|meters?|metres?|feet|foot|ft|yards?|yd|inches?|"
    r"cm|mm|kg|kilograms?|pounds|lbs?|tons?|tonnes?|mph|km/h|degrees?|°[CF]?|seconds?|"
    r"minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries?|points?|karat|acres?"
)

PATTERNS: dict[str, re.Pattern[str]] = {
    "date": re.compile(
        rf"\b(?:(?:{_WEEKDAY},?\s)?{_MONTH}\s\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s\d{{4}})?|"
        rf"\d{{1,2}}\s{_MONTH}(?:\s\d{{4}})?|{_MONTH}\s\d{{4}}|{_WEEKDAY}|"
        rf"(?:1[0-9]|20)\d\d(?:s)?)\b"
    ),
    "year": re.compile(r"\b(?:1[0-9]|20)\d\d(?:s)?\b"),
    "time": re.compile(r"\b\d{1,2}:\d\d(?:\s?[ap]\.?m\.?)?"),
    "score": re.compile(rf"\b\d{{1,3}}\s?{_DASH}\s?\d{{1,3}}\b"),
    "money": re.compile(
        rf"(?:(?:about|around|nearly|over|almost|roughly)\s)?[$€£¥]\s?{_NUM}{_SCALE}|"
        rf"\b{_NUM}{_SCALE}\s(?:dollars|euros|pounds|yen)\b"
    ),
    "percent": re.compile(rf"\b{_NUM}\s?(?:%|percent\b|per cent\b)"),
    "measure": re.compile(rf"\b(?:{_NUM}|{_NUMBER_WORD}){_SCALE}[\s-]?(?:{_UNITS})\b", re.IGNORECASE),
    "number": re.compile(
        rf"(?<![\d:–-])\b(?:{_NUM}{_SCALE}|{_NUMBER_WORD}(?:[\s-]{_NUMBER_WORD})*)\b(?![:–]\d)",
        re.IGNORECASE,
    ),
    "colour": re.compile(
        r"\b(?:red|orange|yellow|green|blue|navy|purple|violet|pink|brown|black|white|gr[ae]y|"
        r"silver|gold|golden|bronze|teal|maroon|crimson|scarlet|beige|turquoise|cyan|magenta)\b",
        re.IGNORECASE,
    ),
    "ordinal": re.compile(
        r"\b(?:number (?:one|two|three|\d+)|(?:first|second|third|fourth|fifth|sixth|seventh|"
        r"eighth|ninth|tenth|eleventh|twelfth|\d+(?:st|nd|rd|th)))\b",
        re.IGNORECASE,
    ),
    # Runs of capitalised words (or numbers after one), allowing short joiners
    # ("Bank of America", "Super Bowl XXXIII", "Levi's Stadium").
    "name": re.compile(
        r"\b[A-Z][\w'’.&-]*(?:(?:\s(?:of|the|de|del|da|van|von|for))*\s(?:[A-Z][\w'’.&-]*|\d+\b))*"
    ),
}

# Head nouns after "what"/"which" that ask for a proper name.
_NAMED_HEADS = (
    r"team|company|country|city|state|province|town|county|region|place|person|player|"
    r"group|organi[sz]ation|agency|station|stadium|venue|network|channel|show|band|artist|"
    r"singer|performer|musician|university|college|school|name|nation|league|conference|"
    r"division|quarterback|coach|receiver|linebacker|lineman|kicker|official|president|"
    r"commissioner|owner|leader|member|brand|magazine|newspaper|website|site|app|console|"
    r"airline|company's|author|writer|director|actor|actress|game|trophy|award|party|"
    r"river|mountain|island|continent|language|religion|museum|hotel|building|bridge|"
    r"street|park|club|franchise|manufacturer|sponsor|broadcaster|studio|album|song|film|movie|book"
)

# Question cues, most specific first: (pattern, type). Checked on the lower-cased question.
_CUES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bhow much (?:money|did|does|do|was|were|is|are|would|will|had|has)?\b.*\b(?:cost|pay|paid|spend|spent|worth|price|charge|earn|raise|fund|budget|revenue|fee)"), "money"),
    (re.compile(r"\bhow much money\b|\bwhat (?:was|is) the (?:cost|price)\b|\bhow much .*\$"), "money"),
    (re.compile(r"\bwhat\b.*\b(?:cost|price|fee|fare|salary|wage)s?\b|\b(?:base|ad|advertising) rates?\b"), "money"),
    (re.compile(r"\bhow much time\b|\bwhat time\b|\btime (?:on|left on) the clock\b"), "time"),
    (re.compile(r"\bwhat (?:percentage|percent|share|proportion)\b|\bhow much of\b"), "percent"),
    (re.compile(r"\bhow much\b"), "number"),
    (re.compile(r"\bwin/loss\b|\bwin-loss\b|\bwins? and loss"), "score"),
    (re.compile(r"\b(?:what|which) colou?rs?\b|\bthe colou?rs? of\b"), "colour"),
    (re.compile(r"\b(?:what|which) (?:seed|rank|ranking|place|anniversary|pick)\b"), "ordinal"),
    (re.compile(r"\bthe (?:number|total|amount|count) of\b|\bwhat (?:is|was|are|were) the (?:\w+ )?(?:most|number)\b"), "number"),
    (re.compile(r"\b(?:what|which) (?:yard|mile|met(?:er|re)|kilomet(?:er|re)|feet|foot|inch|pound|kilogram|ton|acre|degree)s?\b"), "measure"),
    (re.compile(r"\b(?:what|which) (?:position|role|job|post|office)\b|\bthe (?:position|role) (?:of|that|which)\b"), "role"),
    (re.compile(r"\b(?:called|known as|nicknamed|stand for|short for)\b"), "name"),
    (re.compile(r"\bhow ma?n?y\b"), "number"),
    (re.compile(r"\bhow old\b|\bwhat age\b"), "number"),
    (re.compile(r"\bhow (?:long|far|tall|high|wide|deep|big|heavy|fast)\b"), "measure"),
    (re.compile(r"\b(?:final |half ?time )?score\b"), "score"),
    (re.compile(r"\b(?:what|which) (?:year|decade|century|season)\b"), "year"),
    (re.compile(r"\b(?:what|which) (?:date|day|month)\b"), "date"),
    (re.compile(r"^\s*when\b|\bwhen (?:did|was|were|is|will|does|do|are)\b"), "date"),
    (re.compile(r"^\s*(?:who|whom|whose)\b|\b(?:who|whom) (?:is|was|were|did|had|has|will)\b|,\s*who\b"), "name"),
    (re.compile(r"^\s*where\b|\bwhere (?:did|was|were|is|will|does|do|are)\b"), "name"),
    (re.compile(rf"\b(?:which|what|whic)\b(?: [\w'’-]+){{0,3}}? (?:{_NAMED_HEADS})s?\b"), "name"),
    (re.compile(r"\b(?:last|first|full) name\b|\bwhat (?:is|was) (?:it|he|she|they) called\b"), "name"),
    (re.compile(r"^\s*(?:which|whic)\b"), "name"),
    (re.compile(r"\bwhat (?:number|amount)\b"), "number"),
]

# "what Super Bowl...", "which NFL team...": a capitalised word right after the question
# word asks for a proper name (checked on the original casing).
_CAPITALISED_AFTER = re.compile(r"\b(?:[Ww]hat|[Ww]hich|[Ww]hic) (?:[A-Z][\w'’-]*)")


def question_type(question: str) -> AnswerType:
    q = question.lower()
    for pattern, name in _CUES:
        if pattern.search(q):
            return AnswerType(name)
    if _CAPITALISED_AFTER.search(question):
        return AnswerType("name")
    # "What jersey...", "which device...": a noun asked for by name, not a clause about it
    # (Super Bowl F1 +.009 over answering these with a clause).
    focus = question_focus(question)
    if focus is not None and not focus.counted:
        return AnswerType("name")
    return OTHER


@dataclass(frozen=True, slots=True)
class Focus:
    """The noun of a question that names what its answer is ("which *team*": the answer is
    a team) or counts ("how many *games*": the answer is a number of games, said just
    before the noun). `start`/`end` are character offsets into the question."""

    start: int
    end: int
    counted: bool = False


# The noun phrase after "which"/"what" ("Which NFL *team* represented...", "What *venue*...",
# "What is the name of the *stadium*...") or "how many" ("How many *games* did..."). It ends
# at a verb, auxiliary or preposition; its last word is the head.
_FOCUS = re.compile(
    r"\b(?:(which|what|whic)\s+(?:(?:is|was|are|were)\s+the\s+)?|how many\s+)((?:[\w'’-]+\s*){1,4})",
    re.IGNORECASE,
)
_FOCUS_ENDS = frozenset(
    "did does do was is were are has have had will would can could should of in on at for "
    "to by from with as the a an that who which".split()
)
_PLACEHOLDER_HEADS = frozenset({"name", "kind", "type", "sort"})  # "the name of the X": X
_OF_NOUN = re.compile(r"\s+of\s+(?:the\s+|a\s+|an\s+)?([\w'’-]+)")


def question_focus(question: str) -> Focus | None:
    """Where the question says what kind of thing it asks for: the head noun after
    "which"/"what" or "how many", or None ("who", "when", "what did...")."""
    m = _FOCUS.search(question)
    if not m:
        return None
    head = None
    for k, word in enumerate(re.finditer(r"[\w'’-]+", m.group(2))):
        w = word.group().lower()
        if w in _FOCUS_ENDS or (k > 0 and w.endswith("ed")):  # "which team *represented*"
            break
        head = word
    if head is None:
        return None
    start, end = m.start(2) + head.start(), m.start(2) + head.end()
    counted = m.group(1) is None
    if head.group().lower() in _PLACEHOLDER_HEADS and not counted:
        of = _OF_NOUN.match(question, end)
        if of:
            start, end = of.span(1)
    return Focus(start, end, counted)


# Spans of these types also satisfy a question of the key's type, best first.
_ACCEPTS = {
    "date": ("date",),
    "year": ("year",),
    "time": ("time",),
    "score": ("score",),
    "money": ("money",),
    "percent": ("percent",),
    "measure": ("measure",),
    "number": ("money", "percent", "number"),
    "name": ("name",),
    "colour": ("colour",),
    "ordinal": ("ordinal", "number"),
    "role": ("role",),
}

# Capitalised only because they start a sentence or a title: never the start of a name.
_NOT_NAME_START = frozenset(
    """
    a an the in on at by for from with without of to as after before during despite since
    until while when where who whom whose which what why how this that these those there
    their its his her he she it they we i you our your my if but and or nor so yet also
    although though because however meanwhile then later both each every all some many
    most more other another such no not one two three four five first second third
    following under over into onto upon through throughout between among against about
    """.split()
)


def _name_spans(text: str) -> list[tuple[int, int]]:
    """Capitalised runs, minus leading words that are capitalised only by position."""
    spans = []
    for m in PATTERNS["name"].finditer(text):
        a, b = m.span()
        # Drop leading function words ("In Santa Clara" -> "Santa Clara").
        while True:
            word = re.match(r"[\w'’.&-]+", text[a:b])
            if not word or word.group().lower().rstrip(".") not in _NOT_NAME_START:
                break
            rest = re.match(r"[\w'’.&-]+\s+", text[a:b])
            if not rest:
                a = b
                break
            a += rest.end()
        while b > a and text[b - 1] in ".,;:'’":
            b -= 1
        if b > a and text[a].isupper():
            spans.append((a, b))
    return spans


# One or two lower-case words right before a capitalised word: the title in front of a
# name ("linebacker Von Miller", "prime minister Boris Johnson", "guitarist Jonny Buckland").
_ROLE = re.compile(r"\b([a-z][a-z-]+(?:\s[a-z][a-z-]+)?)\s(?=[A-Z])")


# Never part of a title: function words, verbs ("was named Captain"), name particles ("Anna de Vries").
_NOT_ROLE_WORD = _NOT_NAME_START | frozenset(
    "is are was were be been being has have had do does did said says named called "
    "de del della da di du la le van von der den bin al".split()
)


def _role_spans(text: str) -> list[tuple[int, int]]:
    """Titles in front of names, without leading function words ("the", "and", "by")."""
    spans = []
    for m in _ROLE.finditer(text):
        a, b = m.span(1)
        words = text[a:b].split()
        while words and words[0] in _NOT_NAME_START:
            a += len(words.pop(0)) + 1
        if words and not any(w in _NOT_ROLE_WORD or w.endswith(("ed", "ing")) for w in words):
            spans.append((a, b))
    return spans


def candidate_spans(kind: AnswerType, text: str) -> list[tuple[int, int]]:
    """Spans of `text` that could answer a question of `kind`; longest first on overlap."""
    spans: list[tuple[int, int]] = []
    for name in _ACCEPTS.get(kind.name, ()):
        if name == "name":
            spans.extend(_name_spans(text))
            continue
        if name == "role":
            spans.extend(_role_spans(text))
            continue
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
