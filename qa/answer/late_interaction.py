"""Late interaction: the question's token vectors aligned with a chunk's (ColBERT's MaxSim).

A pooled sentence vector blurs which words carry the question; a paraphrase ("Who won?"
against "... defeated the Panthers") shares few stems with it. Aligning each of the
question's content tokens with its best-matching token of a sentence, both read in
context by the same model, rewards the sentence that says what was asked in other words.
The same alignment places an answer span: the question's tokens find their best matches
next to the answer, not inside it, except the noun that names the kind of answer
("which *team*"): it finds its best match inside the answer ("Denver Broncos"), which
tells a team from the other names of a sentence; a counted noun ("how many *games*")
finds it right after the number. Token vectors come from the index (stored at build
time) and from the question's own forward pass, so nothing extra is embedded here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.answer.answer_types import Focus
from qa.index.embedding import TokenVectors

SPAN_REACH = 3.0  # token distance at which a match next to a span counts half
INSIDE_PENALTY = 0.5  # a span aligned with the question's own words is rarely its answer
# Weight of the focus noun's best cosine inside a span. Fitted on Super Bowl with the other
# weights fixed: F1 .465 -> .501, evidence_hit .705 -> .720 (1.0 and 2.0 both score lower).
FOCUS_MATCH = 1.5
# The same for a counted noun right after a number span ("four *games*", "six Pro Bowl
# *selections*": within this many tokens): F1 .509 -> .525, evidence_hit unchanged.
COUNTED_MATCH = 1.0
COUNTED_REACH = 3


@dataclass(frozen=True, slots=True)
class QuestionTokens:
    vectors: np.ndarray  # (q, dim) float32, the question's content tokens
    weights: np.ndarray  # (q,) IDF of the word each token belongs to
    focus: np.ndarray | None = None  # (f, dim) tokens of the noun naming the kind of answer
    counted: bool = False  # the focus noun is counted ("how many games"), not named


@dataclass(frozen=True, slots=True)
class ChunkAlignment:
    """Cosines of the question's tokens with every token of one chunk."""

    cosines: np.ndarray  # (q, n)
    starts: np.ndarray  # (n,) document offsets of the chunk's tokens, ascending
    ends: np.ndarray
    focus_cosines: np.ndarray | None = None  # (f, n), when the question has a focus noun
    counted: bool = False

    def bounds(self, start, end):
        """Token index ranges `[lo, hi)` of the tokens lying wholly in `[start, end)`."""
        lo = np.searchsorted(self.starts, start, side="left")
        hi = np.searchsorted(self.ends, end, side="right")
        return lo, np.maximum(lo, hi)

    def maxsims(self, starts: list[int], ends: list[int], weights: np.ndarray) -> np.ndarray:
        """For each text range: the IDF-weighted mean over the question's tokens of their
        best cosine among the range's tokens (ColBERT's MaxSim); 0 for a range without tokens."""
        lo, hi = self.bounds(np.asarray(starts), np.asarray(ends))
        out = np.zeros(len(lo), np.float32)
        filled = hi > lo
        if filled.any():
            for k in np.nonzero(filled)[0]:
                out[k] = self.cosines[:, lo[k] : hi[k]].max(axis=1) @ weights
            out /= weights.sum()
        return out


def question_tokens(
    question: str,
    tokens: TokenVectors | None,
    words,
    content: set[str],
    idf,
    focus: Focus | None = None,
) -> QuestionTokens | None:
    """The token vectors of the question's content words (stop and question-form words,
    punctuation dropped), weighted by their word's IDF; None when there are none.

    `words` is the question as (start, end, stem) triples, `content` the stems that count,
    `focus` where the question names the kind of answer (answer_types.question_focus).
    """
    if tokens is None or not len(tokens.vectors):
        return None
    keep, weights = [], []
    w = 0
    for k, (start, _) in enumerate(tokens.spans.tolist()):
        while w < len(words) and words[w][1] <= start:
            w += 1
        if w < len(words) and words[w][0] <= start and words[w][2] in content:
            keep.append(k)
            weights.append(idf(words[w][2]))
    if not keep:
        return None
    focus_vectors = None
    if focus is not None:
        inside = [k for k, (start, _) in enumerate(tokens.spans.tolist()) if focus.start <= start < focus.end]
        if inside:
            focus_vectors = tokens.vectors[inside].astype(np.float32, copy=False)
    return QuestionTokens(
        tokens.vectors[keep].astype(np.float32, copy=False),
        np.array(weights, np.float32),
        focus_vectors,
        focus_vectors is not None and focus.counted,
    )


def align_chunk(index, row: int, question: QuestionTokens) -> ChunkAlignment | None:
    """The question aligned with chunk `row`'s stored tokens; None when it has none."""
    vectors, starts, ends = index.chunk_token_vectors(row)
    if not len(vectors):
        return None
    focus = None if question.focus is None else question.focus @ vectors.T
    return ChunkAlignment(question.vectors @ vectors.T, starts, ends, focus, question.counted)


def span_alignments(
    alignment: ChunkAlignment, sentence: tuple[int, int], spans: list[tuple[int, int]]
) -> np.ndarray:
    """How answer-like each span's place in `sentence` is by token alignment: the question's
    tokens find their best match right next to the span (discounted with the distance in
    tokens), not inside it, and its focus noun's best match inside it (a counted noun's:
    right after it). 0 for a span that holds no token. All spans of one sentence at once,
    since a question has a handful."""
    out = np.zeros(len(spans), np.float32)
    s_lo, s_hi = (int(x) for x in alignment.bounds(*sentence))
    if not spans or s_hi <= s_lo:
        return out
    starts, ends = zip(*spans)
    lo, hi = alignment.bounds(np.array(starts), np.array(ends))
    if alignment.focus_cosines is not None:
        out += _focus_match(alignment, lo, hi)
    lo, hi = np.maximum(lo, s_lo)[:, None] - s_lo, np.minimum(hi, s_hi)[:, None] - s_lo
    position = np.arange(s_hi - s_lo)[None, :]
    within = (position >= lo) & (position < hi)  # (spans, tokens)
    held = within.sum(axis=1)
    valid = (held > 0) & (held < within.shape[1])
    if not valid.any():
        return out
    cosines = alignment.cosines[:, s_lo:s_hi]  # (q, tokens)
    outside = np.where(within[None, :, :], -np.inf, cosines[:, None, :])  # (q, spans, tokens)
    best = outside.argmax(axis=2)
    value = np.take_along_axis(outside, best[:, :, None], axis=2)[:, :, 0]
    distance = np.maximum(np.maximum(lo - position, position - (hi - 1)), 0)  # (spans, tokens)
    gap = np.take_along_axis(distance, best.T, axis=1).T  # (q, spans)
    near = (value / (1.0 + gap / SPAN_REACH)).mean(axis=0)
    echo = np.where(within, cosines.max(axis=0)[None, :], 0.0).sum(axis=1) / np.maximum(held, 1)
    out[valid] += (near - INSIDE_PENALTY * echo)[valid]
    return out


def _focus_match(alignment: ChunkAlignment, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per span (token range `[lo, hi)`): the focus noun's best cosine with a token inside
    it ("team" against "Broncos"), or for a counted noun with the COUNTED_REACH tokens right
    after it ("four" then "games"), weighted; 0 for a span without tokens."""
    cosines = alignment.focus_cosines
    starts, ends = lo.tolist(), hi.tolist()
    if alignment.counted:  # the window right after each span that holds a token
        starts, ends = ends, [z + COUNTED_REACH if z > a else z for a, z in zip(starts, ends)]
    best = [cosines[:, a:z].max() if cosines[:, a:z].size else 0.0 for a, z in zip(starts, ends)]
    return (COUNTED_MATCH if alignment.counted else FOCUS_MATCH) * np.array(best, np.float32)
