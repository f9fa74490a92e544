"""Which parts of a document are real content: spans to keep, never rewritten text.

Scraped web pages arrive with their site chrome: menus, share buttons, "Related Posts"
teasers, copyright footers. Indexing those wastes chunks and lets answers come from
navigation. `content_spans` returns the spans of the text worth indexing; the text itself is
never changed, so every offset downstream still points into the original file.

The rules are general and keep by default: a line is dropped only on a positive signal.

1. The text is cut into paragraphs at blank lines. A hard-wrapped paragraph (lines filled to
   about one width, running on from one line to the next) is judged as one segment; any
   other paragraph (a byline block, a menu, a list of headlines) is judged line by line,
   since those mix content and chrome. Markdown headings ("## About") are never chrome.
2. Prose (enough words, ending like a sentence) is always kept, except a copyright notice.
3. A short segment is dropped when it is: a copyright notice; a row of share buttons; a
   navigation label ("Privacy Policy", "View All Result"); a breadcrumb ("Home → Space");
   a tags/categories line; a relative time stamp ("4 months ago"); a line without a word; or
   a line repeated elsewhere in the document (site headers and menus repeat, content rarely).
4. Position: after a teaser heading ("Related Posts", "Recent news", "You may also like"...)
   every segment is teaser material until real prose resumes.
5. Runs of bulleted short links are menus when they name site pages or nest; repeated
   "headline, byline, time" groups are teaser lists even without a heading.

Headings, titles, bylines, dates and captions carry no boilerplate signal, so they stay.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from qa.types import Span

# Every line break str.splitlines() knows, so "\r", "\f" (PDF page breaks) and U+2028 count.
_LINE_BREAK = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Line breaks other than "\n" and "\r\n", which need the slower general split.
_ODD_BREAK = re.compile(r"\r(?!\n)|[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_NOT_LETTER = re.compile(r"[\W\d_]+")
_BULLET = re.compile(r"^[•·▪◦‣▸►–—*+\-]\s+")
_ALNUM = re.compile(r"[^\W_]")
_LONGER_WORD = re.compile(r"[^\W_]{2}|\d")
_TERMINAL = frozenset(".!?…。！？")
_CLOSERS = "\"'”’»)]}*_"
_EXCERPT_END = ("...", "…", "[…]", "[...]")

# A paragraph is hard-wrapped prose when every line but its last is at least this long
# (and close to the widest line).
_WRAPPED_MIN_CHARS = 40
_WRAPPED_MIN_WORDS = 6
_PROSE_MIN_WORDS = 8
_LONG_PROSE_WORDS = 30
_SHORT_WORDS = 12  # the longest "line" the short-line signals look at
_NAV_MAX_WORDS = 6
_COPYRIGHT_MAX_WORDS = 40

_COPYRIGHT = re.compile(r"©|\(c\)\s*\d{4}|\ball rights reserved\b|\bcopyright\s+\d{4}", re.I)
# A row of share buttons, judged on its letters only: "ShareTweetShare" has no spaces.
_SHARE_WORDS = (
    r"share|shares|tweet|pin|pinit|email|mail|print|facebook|twitter|x|reddit|linkedin"
    r"|whatsapp|pinterest|telegram|flipboard|tumblr|on|to|submit|via|copy|link|this|article"
)
_SHARE_BAR = re.compile(rf"^(?:{_SHARE_WORDS})+$")
_SHARE_CORE = re.compile(r"share|tweet|facebook|twitter|reddit|linkedin|whatsapp|pinterest")
_LABEL = re.compile(
    r"^(?:tags?|tagged|tagged with|topics?|categories|category|filed under|posted in)\b\s*:?", re.I
)
_RELATIVE_TIME = re.compile(
    r"^(?:\d+|an?|one)\s+(?:second|sec|minute|min|hour|hr|day|week|month|year)s?\s+ago$"
    r"|^(?:just now|yesterday|today)$",
    re.I,
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    rf"^(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?"
    rf"(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})"
    r"(?:,?\s*(?:at\s+)?\d{1,2}:\d{2}\s*(?:am|pm)?)?$",
    re.I,
)
_BY_AUTHOR = re.compile(r"^by\s*[^\W\d_]", re.I)
_BREADCRUMB_ARROW = re.compile(r"[→›»▸►⟩]")
_BREADCRUMB_ASCII = re.compile(r"\S\s+[>|]\s+\S")
_NAV_CONTAINS = re.compile(
    r"privacy policy|terms of (?:use|service)|cookie (?:policy|settings)|terms and conditions"
)
# Labels of site chrome, compared with a whole line (case, spaces and bullets ignored).
_NAV_LABELS = frozenset(
    """
    home|menu|main menu|navigation|toggle navigation|open menu|close menu|search|search for
    skip to content|skip to main content|log in|login|sign in|sign up|sign out|log out
    register|subscribe|subscribe now|unsubscribe|newsletter|advertise|advertisement
    advertising|sponsored|sponsored content|privacy|privacy policy|cookie policy|cookies
    terms|terms of use|terms of service|contact|contact us|about|about us|back to top
    next|previous|next post|previous post|next article|previous article|read more
    continue reading|load more|show more|see more|view all|see all|view all result
    view all results|no result|no results|no results found|share|share this
    share this article|tweet|leave a comment|leave a reply|reply|cancel reply|follow us
    sitemap|site map|editorial policy|accessibility|donate|my account|loading|go to top
    """.replace("\n", "|").split("|")
) - {""}
# Headings after which a page lists other pages: teaser material until prose resumes.
_TEASER_HEADINGS = frozenset(
    """
    related|related posts|related articles|related stories|related content|related links
    related news|related videos|related reading|related topics|recent news|recent posts
    recent articles|recent stories|latest|latest news|latest posts|latest articles
    latest stories|more news|more stories|more articles|read next|read also
    also read|see also|you may also like|you might also like|you may be interested in
    recommended|recommended for you|recommended stories|popular|popular posts
    popular stories|most popular|most read|most viewed|trending|trending now|top stories
    editor's picks|editors' picks|editors picks|don't miss|comments|external links
    """.replace("\n", "|").replace(" ", "").split("|")
) - {""}
_MORE_FROM = re.compile(r"^more (?:from|in|on|about) \S")


@dataclass(frozen=True, slots=True)
class Block:
    """One judged segment of a document: a line, or a whole hard-wrapped paragraph."""

    start: int
    end: int
    keep: bool
    reason: str
    paragraph: int  # index of the blank-line separated paragraph holding it


def content_spans(text: str) -> list[Span]:
    """The spans of `text` worth indexing, sorted and non-overlapping.

    Each span starts and ends on a non-whitespace character and lies within one paragraph;
    consecutive kept lines of a paragraph form one span.
    """
    spans: list[Span] = []
    previous: Block | None = None
    for block in classify_blocks(text):
        if not block.keep:
            previous = None
            continue
        if previous is not None and previous.paragraph == block.paragraph:
            spans[-1] = Span(spans[-1].start, block.end)
        else:
            spans.append(Span(block.start, block.end))
        previous = block
    return spans


def classify_blocks(text: str) -> list[Block]:
    """Every segment of `text` with whether it is kept and why (for tests and debugging)."""
    segments = _segments(text)
    counts = Counter(seg.key for seg in segments if seg.key)
    menus = _menu_runs(segments)
    teasers = _teaser_groups(segments)
    blocks: list[Block] = []
    zone: str | None = None  # the teaser heading we are under, if any
    for i, seg in enumerate(segments):
        keep, reason = True, "prose" if seg.prose else "no boilerplate signal"
        if seg.signal:
            keep, reason = False, seg.signal
        elif seg.first_in_paragraph and not seg.bullet and _is_teaser_heading(seg):
            zone = seg.text
            keep, reason = False, f"teaser heading {seg.text!r}"
        elif zone is not None:
            if seg.prose and not _is_excerpt(segments, i):
                zone = None  # real prose resumed
            else:
                keep, reason = False, f"under teaser heading {zone!r} until prose resumes"
        elif i in menus:
            keep, reason = False, "menu of links"
        elif i in teasers:
            keep, reason = False, "teaser (headline with byline or time stamp, repeated)"
        elif (
            counts[seg.key] > 1 and not seg.prose and not seg.ends_sentence and not _is_meta(seg)
        ):  # a byline or date may recur (the author's other articles) and still be content
            keep, reason = False, f"repeated line ({counts[seg.key]} times)"
        blocks.append(Block(seg.start, seg.end, keep, reason, seg.paragraph))
    return blocks


@dataclass(slots=True)
class _Segment:
    start: int
    end: int
    text: str
    paragraph: int
    first_in_paragraph: bool
    indent: int  # leading whitespace of its line (menus nest by indentation)
    bullet: bool
    words: int
    ends_sentence: bool
    prose: bool
    key: str  # normalised text of a short segment, "" for long ones
    signal: str | None  # why it is boilerplate wherever it stands, if it is


def _segments(text: str) -> list[_Segment]:
    segments: list[_Segment] = []
    paragraph: list[tuple[int, int, int]] = []  # (start, end, indent) of its stripped lines
    features: dict[str, tuple] = {}  # short lines repeat a lot (menus): judge each once
    number = 0

    def add(start: int, end: int, first: bool, indent: int) -> None:
        body = text[start:end]
        found = features.get(body) if len(body) <= 200 else None
        if found is None:
            found = _features(body)
            if len(body) <= 200:
                features[body] = found
        segments.append(_Segment(start, end, body, number, first, indent, *found))

    def flush() -> None:
        nonlocal number
        if not paragraph:
            return
        if _is_wrapped(text, paragraph):
            add(paragraph[0][0], paragraph[-1][1], True, 0)
        else:
            for j, (start, end, indent) in enumerate(paragraph):
                add(start, end, j == 0, indent)
        number += 1
        paragraph.clear()

    for line_start, line in _lines(text):
        stripped = line.lstrip()
        if not stripped:
            flush()
            continue
        indent = len(line) - len(stripped)
        paragraph.append((line_start + indent, line_start + len(line.rstrip()), indent))
    flush()
    return segments


def _lines(text: str):
    """(start, line) for each line, line breaks excluded (a "\r" left by CRLF is whitespace)."""
    if _ODD_BREAK.search(text):
        start = 0
        for match in _LINE_BREAK.finditer(text):
            yield start, text[start : match.start()]
            start = match.end()
        yield start, text[start:]
        return
    start = 0
    for line in text.split("\n"):  # much faster, and the same lines when only \n and \r\n occur
        yield start, line
        start += len(line) + 1


def _is_wrapped(text: str, lines: list[tuple[int, int, int]]) -> bool:
    """Hard-wrapped prose: lines filled to about one width, and the text runs on from one
    line into the next (some line starts in lower case). A list of headlines fails the
    second test even when its lines are long."""
    if len(lines) < 2:
        return False
    widths = [end - start for start, end, _ in lines]
    widest = max(widths)
    for (start, end, _), width in zip(lines[:-1], widths):
        if width < max(_WRAPPED_MIN_CHARS, 0.6 * widest):
            return False
        if len(text[start:end].split()) < _WRAPPED_MIN_WORDS:
            return False
    if any(_BULLET.match(text[start:end]) for start, end, _ in lines):
        return False
    return any(text[start].islower() for start, _, _ in lines[1:])


def _features(body: str) -> tuple:
    """The fields of `_Segment` that depend only on its text, from `bullet` on."""
    words = len(body.split())
    tail = body.rstrip(_CLOSERS)
    ends_sentence = bool(tail) and tail[-1] in _TERMINAL
    prose = words >= _PROSE_MIN_WORDS and (
        ends_sentence or (words >= _LONG_PROSE_WORDS and any(c in body for c in ".,;:!?"))
    )
    key = _normalise(body) if words <= _SHORT_WORDS else ""
    signal = _boilerplate(body, words, ends_sentence, prose, key)
    return bool(_BULLET.match(body)), words, ends_sentence, prose, key, signal


def _normalise(line: str) -> str:
    """Case, spacing, bullets and edge punctuation ignored: how repeats and labels compare."""
    line = _BULLET.sub("", line).casefold()
    return " ".join(line.split()).strip(" .:;,|>»›→-–—•·*")


def _boilerplate(
    body: str, words: int, ends_sentence: bool, prose: bool, key: str
) -> str | None:
    """The reason a segment is site chrome wherever it stands, or None."""
    if words <= _COPYRIGHT_MAX_WORDS and _COPYRIGHT.search(body):
        return "copyright notice"
    if prose:
        return None
    if _is_wordless(body):
        return "no words"
    if words > _SHORT_WORDS:
        return None
    if len(key) <= 120:
        letters = _NOT_LETTER.sub("", key)
        if _SHARE_CORE.search(letters) and _SHARE_BAR.match(letters):
            return "share buttons"
    if words <= _NAV_MAX_WORDS and (key in _NAV_LABELS or _NAV_CONTAINS.search(key)):
        return "navigation label"
    if _RELATIVE_TIME.match(key):
        return "relative time stamp"
    if _LABEL.match(key) and not ends_sentence:
        return "tags or categories line"
    if not ends_sentence and _is_breadcrumb(body):
        return "breadcrumb"
    return None


def _is_wordless(body: str) -> bool:
    """Rules, dots and lone letters ("A A" text-size buttons); a table row is never wordless."""
    if body.startswith("|"):
        return False
    return not _ALNUM.search(body) or not _LONGER_WORD.search(body)


def _is_breadcrumb(line: str) -> bool:
    if _BREADCRUMB_ARROW.search(line):
        parts = _BREADCRUMB_ARROW.split(line)
    elif not line.startswith(("|", ">")) and _BREADCRUMB_ASCII.search(line):
        parts = re.split(r"\s[>|]\s", line)  # not a Markdown table row or quote
    else:
        return False
    return len(parts) >= 2 and all(len(part.split()) <= 4 for part in parts)


def _is_teaser_heading(seg: _Segment) -> bool:
    if not seg.key or seg.words > 6:
        return False
    squeezed = seg.key.replace(" ", "")
    if squeezed in _TEASER_HEADINGS or _MORE_FROM.match(seg.key):
        return True
    return bool(re.fullmatch(r"\d+comments?", squeezed))


def _is_meta(seg: _Segment) -> bool:
    """A byline, date or time stamp: what follows a headline in a list of teasers."""
    if seg.prose or seg.words > 6 or not seg.key:
        return False
    return bool(_RELATIVE_TIME.match(seg.key) or _DATE.match(seg.key) or _is_by_author(seg))


def _is_by_author(seg: _Segment) -> bool:
    return seg.words <= 5 and not seg.ends_sentence and bool(_BY_AUTHOR.match(seg.key))


def _is_excerpt(segments: list[_Segment], i: int) -> bool:
    """A teaser's excerpt: cut short with an ellipsis, or followed by a byline or date."""
    if segments[i].text.endswith(_EXCERPT_END):
        return True
    return i + 1 < len(segments) and _is_meta(segments[i + 1])


def _menu_runs(segments: list[_Segment]) -> set[int]:
    """Indices of bulleted short-link runs that are site menus.

    A run is a menu when it names at least two site pages (About, Contact, Privacy Policy...)
    or nests on two or more levels with many items. A flat list of short items stays: it is
    how documents enumerate things.
    """
    menus: set[int] = set()
    run: list[int] = []

    def close() -> None:
        if len(run) >= 3:
            nav = sum(
                1 for j in run
                if segments[j].key in _NAV_LABELS or _NAV_CONTAINS.search(segments[j].key)
            )
            levels = len({segments[j].indent for j in run})
            if nav >= 2 or (levels >= 2 and len(run) >= 8):
                menus.update(run)
        run.clear()

    for i, seg in enumerate(segments):
        if seg.bullet and seg.words <= _NAV_MAX_WORDS and not seg.ends_sentence:
            run.append(i)
        else:
            close()
    close()
    return menus


def _teaser_groups(segments: list[_Segment]) -> set[int]:
    """Indices of "headline, byline/time stamp" groups that repeat between two prose segments.

    One such group is an article's own title and byline; two or more in a row are a list of
    other articles. Each group drops its meta lines, its headline, and a one-to-three word
    category label just before the headline.
    """
    teasers: set[int] = set()
    groups: list[list[int]] = []

    def close() -> None:
        if len(groups) >= 2:
            for group in groups:
                teasers.update(group)
        groups.clear()

    i = 0
    while i < len(segments):
        seg = segments[i]
        if seg.prose:
            close()
            i += 1
            continue
        byline_or_time = bool(_RELATIVE_TIME.match(seg.key)) or _is_by_author(seg)
        headline = segments[i - 1] if i > 0 else None
        if byline_or_time and headline and not headline.prose and not _is_meta(headline):
            group = [i - 1, i]
            if i > 1 and not segments[i - 2].prose and segments[i - 2].words <= 3:
                group.append(i - 2)  # a category label above the headline
            while i + 1 < len(segments) and _is_meta(segments[i + 1]):
                i += 1
                group.append(i)
            groups.append(group)
        i += 1
    close()
    return teasers
