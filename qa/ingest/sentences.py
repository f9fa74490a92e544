"""Sentence boundaries inside a block of text, as exact character spans.

Hand-written rather than pysbd or nltk: both need their spans mapped back onto the text
(pysbd's `char_span` searches for the sentence text, which goes wrong on repeated
sentences; nltk's punkt needs data downloaded at run time), and a regex pass is linear and
keeps offsets exact by construction. The rules: a sentence ends at `.`, `!`, `?` or `…`
(with any closing quotes or brackets) followed by white space and something that can start
a sentence, unless the word before the period is a known abbreviation, an initial or a
number; a line break ends a sentence when the line was a heading-like short line or
already ended in terminal punctuation. A sentence longer than `MAX_SENTENCE_CHARS` (a
run-on list, text without punctuation) is cut at white space, so an answer never quotes
a whole book and the work per sentence stays bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Words that end in a period without ending the sentence.
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft vs etc e.g i.e cf al approx ca no nos vol pp fig
    inc ltd co corp dept est gen gov lt col sgt capt rev sen rep jan feb mar apr jun jul
    aug sep sept oct nov dec mon tue wed thu fri sat sun u.s u.k u.n a.m p.m
    """.split()
)

# Terminal punctuation, optional closing quotes/brackets, then white space.
_BOUNDARY = re.compile(r"""[.!?…]+["'”’)\]»]*(?=\s)""")
_OPENER = re.compile(r"""["'“‘(\[«]*[\w¿¡$€£]""")
_SHORT_LINE = 60  # a line this short that ends without punctuation is a heading or label
_SPACES = re.compile(r"\s*")
# Longer than any real sentence (the dev sets' longest is well under it), short enough
# that a quote stays readable and counting its tokens is cheap.
MAX_SENTENCE_CHARS = 1_000
# A run with no white space at all is cut shorter: its pieces then fit a chunk as they
# are (300 tokens), instead of each being searched for a cut again by the chunker.
MAX_RUN_CHARS = 300


def _is_abbreviation(block: str, dot: int) -> bool:
    """True when the period at `dot` belongs to an abbreviation, initial or ordinal."""
    start = dot
    while start > 0 and not block[start - 1].isspace():
        start -= 1
    word = block[start:dot].lstrip("\"'“‘([").lower()
    if not word:
        return False
    if word in _ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isalpha():  # an initial: "J. Smith"
        return True
    # Dotted initialisms like "U.S" (the final period is at `dot`).
    return bool(re.fullmatch(r"(?:[a-z]\.){1,4}[a-z]", word))


def _line_ends(block: str) -> Iterator[int]:
    """Offsets of line breaks that also end a sentence."""
    pos = 0
    for line in block.splitlines(keepends=True):
        content = line.rstrip("\r\n")
        end = pos + len(content)
        pos += len(line)
        if pos == end or pos >= len(block):  # no line break, or the block's last line
            continue
        stripped = content.strip()
        if not stripped:
            continue
        if len(stripped) <= _SHORT_LINE or stripped[-1] in ".!?…:;\"”’)":
            yield end


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of `text[start:end]`, in absolute offsets, stripped of white space.

    Spans are sorted, non-overlapping, never empty and never start or end on white space;
    every non-space character of the block falls in exactly one span.
    """
    end = len(text) if end is None else end
    block = text[start:end]
    cuts = {0, len(block)}
    for match in _BOUNDARY.finditer(block):
        cut = match.end()
        following = _SPACES.match(block, cut).end()  # never a slice: linear in the block
        if following == len(block) or not _OPENER.match(block, following):
            continue
        first = block[following]
        if first.isalpha() and first.islower():  # "e.g. lower case" continues the sentence
            continue
        if match.group().startswith(".") and len(match.group()) == 1 and _is_abbreviation(
            block, match.start()
        ):
            continue
        cuts.add(cut)
    cuts.update(_line_ends(block))

    spans = []
    points = sorted(cuts)
    for a, b in zip(points, points[1:]):
        piece = block[a:b]
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        if right > left:
            spans.extend(_bounded(text, start + a + left, start + a + right))
    return spans


def _bounded(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """`text[start:end]` (no white space at either end) in pieces of at most
    MAX_SENTENCE_CHARS, cut at the last white space that fits, else between characters
    (every MAX_RUN_CHARS)."""
    while end - start > MAX_SENTENCE_CHARS:
        cut = start + MAX_SENTENCE_CHARS
        space = cut
        while space > start and not text[space].isspace():
            space -= 1
        if space > start:  # the piece ends before the white space, the next starts after it
            piece_end = space
            while text[piece_end - 1].isspace():
                piece_end -= 1
            yield start, piece_end
            start = _SPACES.match(text, space).end()
        else:
            cut = start + MAX_RUN_CHARS
            yield start, cut
            start = cut
    yield start, end
