"""Extractive answers read by the trained reader.

For a question, the reader (a cross-encoder) reads the top retrieved passages' text with
the question and scores every span of up to 30 word pieces against "no answer" in each
passage. The best span over all the
passages is the answer when the reader's calibrated confidence (a probability that the
answer is right, the same scale on every corpus) reaches `AskSettings.abstain_threshold`;
otherwise the pipeline abstains and says why. Spans are cut from the document text at
word boundaries, so answers are verbatim by construction; the sentence around the answer
is its evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.answer.abstention import absent_words_reason
from qa.answer.citation import make_citation
from qa.config import READER_READ_K, AskSettings
from qa.types import Answer, Candidate, Citation, Passage

SPANS_PER_PASSAGE = 4  # candidates kept from each passage (alternatives come from these)
# "Also in" searches the answer's text in the top 5 retrieved passages (a text search, so
# also in those left unread): the reader's read count until it read 4.
ALSO_IN_K = 5


@dataclass(frozen=True, slots=True)
class _Read:
    """One span the reader proposed: where it stands and how much it beats "no answer"."""

    margin: float
    source: str
    start: int
    end: int
    passage: int  # rank of its passage among those read
    span: float = 0.0  # the reader's raw span score (start + end logits)
    no_answer: float = 0.0  # its passage's no-answer score


def _best_first(r: _Read) -> tuple:
    """Best margin first; ties go to the earlier passage, then the earlier span."""
    return (-r.margin, r.passage, r.start)


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen [start, end) to whole words: a word piece span may stop inside a word."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


def read_passages(
    reader, question: str, passages: list[Passage], index, rank_penalty: float = 0.0, *, first_rank: int = 0
) -> list[_Read]:
    """Every passage's best spans, scored by the reader, best first.

    `margin` is the reader's span score minus its no-answer score, less `rank_penalty` per
    rank of the passage: the reader reads each passage alone, and retrieval's order is
    evidence too (fitted on held-out articles, see qa/reader/heldout.py). `passages[0]`
    has rank `first_rank` (the rest of a read that began with the first passages).
    """
    chunks = [p for p in passages if p.text]
    found = reader.passage_spans(question, [p.text for p in chunks], SPANS_PER_PASSAGE)
    out = []
    for k, (p, passage_spans) in enumerate(zip(chunks, found)):
        text = index.document(p.source).text
        for s in passage_spans:
            a, b = _whole_words(text, p.start + s.start, p.start + s.end)
            rank = first_rank + k
            out.append(_Read(s.score.margin - rank_penalty * rank, p.source, a, b, rank, s.score.span, s.score.no_answer))
    return sorted(out, key=_best_first)


def _evidence(index, source: str, start: int, end: int) -> Citation:
    """The sentence(s) holding the answer."""
    rows = index.sentence_rows_within(source, start, end)
    if not len(rows):
        return make_citation(index, source, start, end)
    first, last = index.sentence_list[rows.start], index.sentence_list[rows.stop - 1]
    return make_citation(index, source, min(first.start, start), max(last.end, end))


def _candidates(reads: list[_Read], index, wanted: int, calibration) -> list[Candidate]:
    """Distinct answers, best first: the same text from two passages counts once, and a
    span overlapping a better one ("around $6 billion" under "$6 billion") is the same
    answer cut differently, not an alternative."""
    out: list[Candidate] = []
    seen: set[str] = set()
    taken: list[tuple[str, int, int]] = []
    for r in reads:
        citation = make_citation(index, r.source, r.start, r.end)
        key = " ".join(citation.text.lower().split())
        if not key or key in seen:
            continue
        if any(s == r.source and r.start < e and b < r.end for s, b, e in taken):
            continue
        seen.add(key)
        taken.append((r.source, r.start, r.end))
        out.append(Candidate(citation.text, citation, _evidence(index, r.source, r.start, r.end), calibration.confidence(r.margin)))
        if len(out) >= wanted:
            break
    return out


def answer_question(
    question: str,
    passages: list[Passage],
    index,
    settings: AskSettings,
    reader,
    *,
    alternatives: int = 3,
) -> Answer:
    """`reader`: a `LoadedReader` (qa/reader/weights.py): its network and calibration."""
    passages = list(passages)
    if not passages:
        return Answer(question, None, reason="the index holds no passages to answer from", read=0)
    read = passages[: settings.passages_read(READER_READ_K)]  # of the top_k retrieved
    threshold = reader.calibration.threshold if settings.abstain_threshold is None else settings.abstain_threshold
    reads, read_count = _read_until_answered(reader, question, read, index, settings.read_first, threshold)
    candidates = _candidates(reads, index, 1 + max(0, alternatives), reader.calibration)
    if not candidates:
        return Answer(
            question, None, reason="no passage in the sources can be read for this question",
            passages=tuple(passages), read=read_count,
        )
    confidence = candidates[0].score
    if confidence < threshold:
        reason = absent_words_reason(question, index.lexical.knows)
        return Answer(question, None, confidence=confidence, reason=reason, passages=tuple(passages), read=read_count)
    best = candidates[0]
    also_in = _also_in(best, passages[: max(len(read), ALSO_IN_K)], index)
    return Answer(
        question,
        Candidate(best.text, best.citation, best.evidence, best.score, also_in),
        alternatives=tuple(candidates[1 : 1 + alternatives]),
        confidence=confidence,
        passages=tuple(passages),
        read=read_count,
    )


def _read_until_answered(reader, question: str, read: list[Passage], index, first: int, threshold: float):
    """The reads of the first `first` readable passages when their best answer's
    confidence reaches `threshold` (it would be the answer), else of every passage in
    `read`; and how many of `read`, from the first, that was.

    Each passage is read alone and the later ones pay the rank penalty, so once the first
    two answer, the others seldom beat them; reading two costs about half of reading
    five. Measured with the weights shipped before 2026-12-05 evening (those since stop
    after two on 677 of 810 Super Bowl questions, against 609): on 4,000 held-out SQuAD 2.0 questions (tests/benchmarks/reader_decisions.py,
    threshold 0.351), 57% stopped after two passages (75% of the answerable ones), 7
    answers got worse and 4 better, SQuAD 2.0 F1 .629 -> .628; stopping after one passage
    would have stopped 54% for .625 (34 worse, 14 better). At the threshold of 0.252, 66%
    stop (84% of the answerable), 12 answers worse and 7 better, SQuAD 2.0 F1 .612 -> .610.
    Reading up to four (2026-12-05, threshold 0.257): 66% stop (83%), 12 worse and 8
    better than reading five at once, SQuAD 2.0 F1 .6125 -> .6110."""
    penalty = reader.calibration.rank_penalty
    at = [k for k, p in enumerate(read) if p.text]  # as read_passages counts ranks
    readable = [read[k] for k in at]
    if len(readable) <= first:
        return read_passages(reader.network, question, read, index, penalty), len(read)
    head = read_passages(reader.network, question, readable[:first], index, penalty)
    if head and reader.calibration.confidence(head[0].margin) >= threshold:
        return head, at[first - 1] + 1
    rest = read_passages(reader.network, question, readable[first:], index, penalty, first_rank=first)
    return sorted(head + rest, key=_best_first), len(read)


def _also_in(best: Candidate, read: list[Passage], index) -> tuple[Citation, ...]:
    """The same answer text in the other files' passages among `read`, one per file (a
    text search: also in those the two-step reading left unread, as before it)."""
    needle = re.compile(r"(?<!\w)" + re.escape(best.text) + r"(?!\w)", re.IGNORECASE)
    out: dict[str, Citation] = {}
    for p in read:
        if p.source == best.citation.source or p.source in out:
            continue
        # Searched in the original text (not a lower-cased copy, whose length may differ).
        found = needle.search(p.text)
        if found:
            out[p.source] = make_citation(index, p.source, p.start + found.start(), p.start + found.end())
    return tuple(out.values())
