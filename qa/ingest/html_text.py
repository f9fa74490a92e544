"""An HTML page -> the text `qa` indexes: its main content, one paragraph per block.

trafilatura finds the main content. Before it reads the page, three things a browser does
(or a reader expects) are done to the parsed tree:

- **Soft line wraps are spaces.** Outside `<pre>`, a line break inside running text renders
  as a space; generators such as Sphinx wrap the lines of every `<p>`. trafilatura keeps
  those breaks, and each would become a paragraph (and sentence) boundary here.
- **Sphinx pages are read from their main `<div role="main">`**, without the "¶" permalink
  marks Sphinx appends to headings and definitions, with their footnotes, and the pages Sphinx generates to list
  other pages (the general index, module index, search page) are not content: they are
  skipped with that reason. Reading only the main block also spares trafilatura its
  comparison with other extractors (the choice of main content is already made), which
  is most of its time on large reference pages.

The text is built, not cut from the file: offsets point into it, and `qa.ingest.source_lines`
maps them back to the lines of the file.
"""

from __future__ import annotations

import re

# Any run of white space holding a line break, in text outside <pre>: one space, as rendered.
_SOFT_WRAP = re.compile(r"[ \t\r\f]*\n\s*")
_PREFORMATTED = frozenset({"pre", "textarea", "listing", "plaintext", "xmp"})
# What marks a page Sphinx built to list other pages rather than to say something.
_SPHINX_LISTING = (
    './/table[contains(concat(" ", @class, " "), " indextable ")]'
    ' | .//div[contains(concat(" ", @class, " "), " genindex-jumpbox ")]'
    ' | .//*[@id="search-results"]'
)
_SPHINX_MAIN = '//div[@role="main" and contains(concat(" ", @class, " "), " body ")]'
_TOCTREE = './/div[contains(concat(" ", @class, " "), " toctree-wrapper ")]'
_FOOTNOTES = './/aside[contains(@class, "footnote")]'
_HEADERLINK = './/a[contains(concat(" ", @class, " "), " headerlink ")]'


class NotContent(Exception):
    """The page holds no content worth indexing; the message says what it is instead."""


def main_text(data: bytes) -> str:
    """trafilatura's text of the page's main content, soft wraps joined (one line per block).

    Raises NotContent for Sphinx's listing pages, and lets parser errors through.
    """
    import trafilatura  # lazy: ~0.3 s of imports, needed only for HTML sources

    tree = trafilatura.load_html(data)
    if tree is None:
        return ""
    fast = False
    mains = tree.xpath(_SPHINX_MAIN)
    if len(mains) == 1 and tree.find("body") is not None:
        _keep_only_sphinx_main(tree.find("body"), mains[0])
        fast = True  # the main content is chosen: no fallback extractors to compare with
    _join_soft_wraps(tree)
    return trafilatura.extract(
        tree, include_comments=False, include_tables=True, include_images=False,
        deduplicate=False, fast=fast,
    ) or ""


def _keep_only_sphinx_main(body, main) -> None:
    """`body` reduced to the main block (inside a page, trafilatura keeps its headings)."""
    if main.xpath(_SPHINX_LISTING) or _mostly_toctree(main):
        raise NotContent(
            "a page Sphinx generates to list other pages (index, contents, module index or"
            " search), not content"
        )
    for link in main.xpath(_HEADERLINK):
        link.drop_tree()  # the "¶" mark; the text after it (its tail) stays
    for note in main.xpath(_FOOTNOTES):
        note.tag = "div"  # docutils puts footnotes in <aside>, which trafilatura drops as a sidebar
    for child in list(body):
        body.remove(child)
    main.tail = None
    body.append(main)


def _mostly_toctree(main) -> bool:
    """A table of contents page: nearly all its text is the tree of links to other pages."""
    toc = sum(len(t.text_content()) for t in main.xpath(_TOCTREE))
    return toc > 0 and toc >= 0.9 * len(main.text_content())


def _join_soft_wraps(tree) -> None:
    """Line breaks in running text become spaces; preformatted text keeps its lines."""
    stack = [(tree, False)]
    while stack:
        element, inside_pre = stack.pop()
        if not isinstance(element.tag, str):  # a comment or processing instruction
            continue
        inside = inside_pre or element.tag in _PREFORMATTED
        if not inside and element.text and "\n" in element.text:
            element.text = _SOFT_WRAP.sub(" ", element.text)
        for child in element:
            if not inside and child.tail and "\n" in child.tail:
                child.tail = _SOFT_WRAP.sub(" ", child.tail)
            stack.append((child, inside))
