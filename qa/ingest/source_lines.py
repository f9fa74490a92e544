"""Lines of the source file for offsets into an HTML document's extracted text.

A citation's `file:line` must be a line a person can open: for HTML that is a line of the
raw file, not of the text trafilatura extracted (the page's `<head>` and `<style>` alone
can put the body 30 lines down). At load time each run of extracted text is found again
in the page's visible text, and `line_map` records from which offset on the text stands
on which line of the file. Matching uses letters and digits only, so markup trafilatura
adds or changes (list dashes, table pipes, quotes, collapsed white space) does not matter.
"""

from __future__ import annotations

import bisect
import logging
from html.parser import HTMLParser

log = logging.getLogger(__name__)

LineMap = tuple[tuple[int, int], ...]  # (text offset, 1-based file line), offsets ascending
_HIDDEN = frozenset({"script", "style", "noscript", "template", "head", "title"})
_PREFIX = 24  # characters a paragraph's start is looked up by when it is not found whole


class _VisibleText(HTMLParser):
    """The page's letters and digits outside scripts and styles, each with its line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chars: list[str] = []
        self.lines: list[int] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in _HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag) -> None:
        if tag in _HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        line = self.getpos()[0]
        for char in data:
            if char == "\n":
                line += 1
            elif char.isalnum():
                self.chars.append(char)
                self.lines.append(line)


def html_line_map(raw: bytes, text: str) -> LineMap:
    """Where each part of `text` (extracted from the HTML `raw`) stands in the raw file."""
    page = _VisibleText()
    try:
        page.feed(raw.decode("utf-8", errors="replace"))  # lines are the same in any ASCII-based encoding
        page.close()
    except Exception:  # html.parser gives up on some broken markup: map what it read
        log.info("HTML parsing stopped early while mapping lines", exc_info=True)
    visible = "".join(page.chars)
    anchors: list[tuple[int, int]] = []
    cursor = 0
    start = 0
    for paragraph in text.split("\n"):
        offsets = [start + i for i, c in enumerate(paragraph) if c.isalnum()]
        wanted = "".join(paragraph[o - start] for o in offsets)
        start += len(paragraph) + 1
        if not wanted:
            continue
        found = _find(visible, wanted, cursor)
        if found < 0:  # changed by extraction: anchor the paragraph by its start only
            found = _find(visible, wanted[:_PREFIX], cursor)
            if found < 0:
                continue
            offsets, wanted = offsets[:1], wanted[:1]
        for k, offset in enumerate(offsets):
            line = page.lines[found + k]
            if not anchors or anchors[-1][1] != line:
                anchors.append((offset, line))
        cursor = found + len(wanted)
    if not anchors or anchors[0][0] != 0:
        anchors.insert(0, (0, anchors[0][1] if anchors else 1))
    return tuple(anchors)


def _find(haystack: str, needle: str, cursor: int) -> int:
    """`needle` from `cursor` on (text comes in page order), else anywhere."""
    found = haystack.find(needle, cursor)
    return found if found >= 0 else haystack.find(needle)


def line_in_file(line_map: LineMap, offset: int) -> int:
    """The file line of a text offset, by the last anchor at or before it."""
    at = bisect.bisect_right(line_map, (offset, float("inf"))) - 1
    return line_map[max(0, at)][1]
