"""Extractive answers: choose the supporting sentence, then a short verbatim span in it.

No trained reader model is available offline, so the answer is found in three steps:
1. every sentence of the top passages is scored by its cosine to the question (sentence
   vectors pooled at index time, so nothing is embedded here), its IDF-weighted overlap
   with the question's words, the score of its passage relative to the best one,
   whether it holds a span of the asked-for type (who, when, how many...), and, when the
   index stores token vectors, the late-interaction MaxSim of the question's tokens
   (qa/answer/late_interaction.py), which catches paraphrases;
2. in the best sentences, candidate spans of that type are scored by their distance to
   the words the question and sentence share and by where the question's tokens align
   (the question's own words are never the answer, but the noun naming the kind of
   answer, "which *team*", should align inside it); untyped questions get the clause
   that continues past the shared words, or the sentence;
3. a confidence is computed from the evidence (share of the question's rare words the
   sentence holds, cosine, type present), and below the threshold (config) the pipeline
   abstains and names the question words nothing in the sources mentions.
Every span is cut from the document text, so answers are verbatim by construction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from qa.answer.answer_types import AnswerType, candidate_spans, question_focus, question_type
from qa.answer.late_interaction import ChunkAlignment, QuestionTokens, align_chunk, question_tokens, span_alignments
from qa.config import EXTRACTOR_READ_K, AskSettings
from qa.index.embedding import TokenVectors
from qa.index.lexical import SentenceWords, terms
from qa.types import Answer, Candidate, Citation, Passage

# Sentence score weights, fitted on the dev sets (a softmax ranker over these features
# put cosine and overlap about equal, the passage's relative score below them).
W_COSINE = 0.45
W_OVERLAP = 0.45
W_PASSAGE = 0.15
W_TYPE = 0.12  # the sentence holds a span of the asked-for type
# Late interaction, fitted on Super Bowl with the weights above fixed: sentence MaxSim
# (evidence_hit .670 -> .693 alone) and span alignment (with AskSettings.span_weight,
# F1 .394 -> .434, evidence_hit -> .705). Without stored token vectors both are absent.
W_MAXSIM = 1.5
W_ALIGN = 2.0
SPANS_FROM = 4  # sentences whose spans compete for the answer
ENTITY_CONTEXT = 8  # best sentences in which the question's names are looked for
# Words that shape a question without saying what it is about; not in every stop list.
_QUESTION_FORM_WORDS = (
    "what which who whom whose when where why how do does did should would could can "
    "will shall may might must is are was were has have had many much"
)


@lru_cache(maxsize=1)
def _question_form() -> frozenset[str]:
    return frozenset(terms(_QUESTION_FORM_WORDS)) | frozenset(_QUESTION_FORM_WORDS.split())

_WORD = re.compile(r"\w[\w'’.-]*\w|\w")
_CLAUSE_BREAK = re.compile(r"[,;:()\"“”]|\s[–—-]\s|\b(?:which|who|while|whereas|after|before|when)\b")


@dataclass(frozen=True, slots=True)
class _ScoredSentence:
    row: int
    score: float
    cosine: float
    overlap: float
    passage_score: float
    chunk: int  # the passage row it was scored in (whose token vectors it is aligned with)


def make_citation(index, source: str, start: int, end: int) -> Citation:
    document = index.document(source)
    return Citation(
        source=source,
        start=start,
        end=end,
        line_start=index.line_of(source, start),
        line_end=index.line_of(source, max(start, end - 1)),
        text=document.text[start:end],
        page=document.page_at(start),
    )


# IDF over the index's sentences and each sentence's words, made when the index is built.
_Idf = SentenceWords


def _idf_of(index) -> SentenceWords:
    return index.sentence_words


@lru_cache(maxsize=16_384)  # sentences recur across questions; stemming is the cost
def _words(text: str) -> tuple[tuple[int, int, str | None], ...]:
    """Every word of `text` as (start, end, stem), stem None for stop words."""
    out = []
    for m in _WORD.finditer(text):
        stems = terms(m.group())
        out.append((m.start(), m.end(), stems[0] if len(stems) == 1 else (" ".join(stems) or None)))
    return tuple(out)


@lru_cache(maxsize=65_536)
def _spans_with_terms(kind: AnswerType, text: str) -> tuple[tuple[int, int, frozenset[str]], ...]:
    return tuple((a, b, frozenset(terms(text[a:b]))) for a, b in candidate_spans(kind, text))


class _Alignments:
    """The question's token alignment with each chunk, computed once per question."""

    def __init__(self, index, question: QuestionTokens | None):
        self.index = index
        self.question = question
        self._by_chunk: dict[int, ChunkAlignment | None] = {}

    def __call__(self, row: int) -> ChunkAlignment | None:
        if self.question is None or not 0 <= row < len(self.index.chunks):
            return None
        if row not in self._by_chunk:
            self._by_chunk[row] = align_chunk(self.index, row, self.question)
        return self._by_chunk[row]


def _score_sentences(
    question_words: set[str],
    query_vector: np.ndarray,
    passages: list[Passage],
    index,
    idf: _Idf,
    kind: AnswerType,
    alignments: _Alignments | None = None,
) -> list[_ScoredSentence]:
    total_idf = sum(idf(w) for w in question_words) or 1.0
    top = max((p.score for p in passages), default=0.0) or 1.0
    seen: dict[int, _ScoredSentence] = {}
    for passage in passages:
        rows = index.sentence_rows_within(passage.source, passage.start, passage.end)
        if not len(rows):
            continue
        vectors = index.sentence_vectors[rows.start : rows.stop].astype(np.float32)
        cosines = vectors @ query_vector
        relative = passage.score / top
        alignment = alignments(passage.row) if alignments else None
        if alignment is not None:
            sentences = index.sentence_list[rows.start : rows.stop]
            maxsims = alignment.maxsims(
                [s.start for s in sentences], [s.end for s in sentences], alignments.question.weights
            )
        for k, row in enumerate(rows):
            if row in seen and seen[row].passage_score >= relative:
                continue
            overlap = sum(idf(w) for w in question_words & idf.sentence_terms[row]) / total_idf
            cosine = float(cosines[k])
            score = W_COSINE * cosine + W_OVERLAP * overlap + W_PASSAGE * relative
            if kind.typed and _typed_spans(kind, index.sentence_list[row].text, question_words):
                score += W_TYPE
            if alignment is not None:
                score += W_MAXSIM * float(maxsims[k])
            seen[row] = _ScoredSentence(row, score, cosine, overlap, relative, passage.row)
    return sorted(seen.values(), key=lambda s: (-s.score, s.row))


def _typed_spans(kind: AnswerType, text: str, question_words: set[str]) -> list[tuple[int, int]]:
    """Spans of the asked-for type that are not made only of the question's words."""
    return [(a, b) for a, b, words in _spans_with_terms(kind, text) if not words or not words <= question_words]


def _anchors(words: list[tuple[int, int, str | None]], question_words: set[str]) -> list[int]:
    """Indices of the sentence's words that the question also has."""
    return [i for i, (_, _, stem) in enumerate(words) if stem and stem in question_words]


def _span_score(
    span: tuple[int, int],
    words: list[tuple[int, int, str | None]],
    anchors: list[int],
    question_words: set[str],
    kind: AnswerType,
    idf: _Idf,
) -> float:
    """How answer-like a span's placement is: close to the question's rare words (each
    word counted once, at its nearest occurrence), not made of them."""
    inside = [i for i, (a, b, _) in enumerate(words) if a >= span[0] and b <= span[1]]
    stems = [words[i][2] for i in inside if words[i][2]]
    shared = sum(1 for s in stems if s in question_words) / max(1, len(stems))
    nearest: dict[str, int] = {}
    if inside:
        for i in anchors:
            if inside[0] <= i <= inside[-1]:
                continue
            d = min(abs(i - inside[0]), abs(i - inside[-1]))
            stem = words[i][2]
            if stem not in nearest or d < nearest[stem]:
                nearest[stem] = d
    total = sum(idf(w) for w in question_words) or 1.0
    closeness = sum(idf(w) / (1.0 + d) for w, d in nearest.items()) / total
    score = closeness - 0.6 * shared
    if kind.name == "name" and len(inside) == 1 and words[inside[0]][0] == 0:
        score -= 0.3  # a lone capitalised first word is usually capitalised by position
    return score


def _clause(text: str, words: list[tuple[int, int, str | None]], anchors: list[int]) -> tuple[int, int]:
    """For untyped questions: the stretch after the last run of shared words up to the
    next clause break, when it is short and clearly separate; else the whole sentence."""
    if not anchors:
        return (0, len(text))
    last = anchors[-1]
    start = words[last][1]
    if last + 1 >= len(words):
        return (0, len(text))
    rest = text[start:]
    cut = _CLAUSE_BREAK.search(rest, 1)
    end = start + (cut.start() if cut else len(rest))
    a, b = start, end
    while a < b and not text[a].isalnum():
        a += 1
    while b > a and not text[b - 1].isalnum():
        b -= 1
    n = len(_WORD.findall(text[a:b]))
    if 1 <= n <= 8:
        return (a, b)
    return (0, len(text))


def _spans_in(
    sentence_text: str,
    kind: AnswerType,
    question_words: set[str],
    untyped_clause: bool,
    idf: _Idf,
    align=None,
) -> list[tuple[tuple[int, int], float]]:
    """Candidate answer spans of one sentence with their span scores, best first.

    `align(spans)`, when given, scores typed spans' places by token alignment.
    """
    words = _words(sentence_text)
    anchors = _anchors(words, question_words)
    if kind.typed:
        spans = _typed_spans(kind, sentence_text, question_words)
        scored = [(s, _span_score(s, words, anchors, question_words, kind, idf)) for s in spans]
        if align is not None and scored:
            aligned = align([s for s, _ in scored])
            scored = [(s, score + W_ALIGN * float(a)) for (s, score), a in zip(scored, aligned)]
        return sorted(scored, key=lambda x: (-x[1], x[0]))
    if untyped_clause:
        return [(_clause(sentence_text, words, anchors), 0.0)]
    return [((0, len(sentence_text)), 0.0)]


def answer_question(
    question: str,
    query_vector: np.ndarray,
    passages: list[Passage],
    index,
    settings: AskSettings,
    *,
    alternatives: int = 3,
    query_tokens: TokenVectors | None = None,
) -> Answer:
    """`query_tokens`: the question's token vectors (Embedder.embed_query), for late
    interaction with the index's stored token vectors; without them it is skipped."""
    passages = list(passages)
    if not passages:
        return Answer(question, None, reason="the index holds no passages to answer from", read=0)
    idf = _idf_of(index)
    question_words = set(terms(question)) - _question_form()
    kind = question_type(question)
    read = passages[: settings.passages_read(EXTRACTOR_READ_K)]
    tokens = question_tokens(
        question, query_tokens, _words(question), question_words, idf, focus=question_focus(question)
    )
    alignments = _Alignments(index, tokens)
    scored = _score_sentences(question_words, query_vector, read, index, idf, kind, alignments)
    if not scored:
        return Answer(
            question, None, reason="no sentence in the sources relates to the question",
            passages=tuple(passages), read=len(read),
        )

    candidates = _candidates(
        scored, index, kind, question_words, settings, max(1, alternatives), idf, alignments
    )
    confidence = _confidence(question, scored, question_words, idf, kind, candidates[0])
    return conclude(
        question, candidates, confidence, settings.abstain_threshold, passages, alternatives, len(read),
        reason=lambda: _abstain_reason(question, question_words, scored[0], idf),
        also_in=lambda best: _also_in(best, scored, index),
    )


def conclude(
    question: str,
    candidates: list[Candidate],
    confidence: float,
    threshold: float,
    passages: list[Passage],
    alternatives: int,
    read: int,
    *,
    reason: Callable[[], str],
    also_in: Callable[[Candidate], tuple[Citation, ...]],
) -> Answer:
    """The best candidate with its alternatives and agreeing sources, or, below the
    threshold, an abstention with its reason (both answerers end here). `read`: how many
    of `passages`, from the first, were read."""
    if confidence < threshold:
        return Answer(question, None, confidence=confidence, reason=reason(), passages=tuple(passages), read=read)
    best = candidates[0]
    best = Candidate(best.text, best.citation, best.evidence, best.score, also_in(best))
    return Answer(
        question,
        best,
        alternatives=tuple(candidates[1 : 1 + alternatives]),
        confidence=confidence,
        passages=tuple(passages),
        read=read,
    )


def _candidates(
    scored: list[_ScoredSentence],
    index,
    kind: AnswerType,
    question_words: set[str],
    settings: AskSettings,
    wanted: int,
    idf: _Idf,
    alignments: _Alignments | None = None,
) -> list[Candidate]:
    """Answer candidates from the best sentences, best first, without repeated texts.

    Typed spans compete across the top sentences: a slightly lower sentence whose span
    sits right next to the question's words beats a vague one in the top sentence.
    """
    pool: list[tuple[float, int, tuple[int, int], _ScoredSentence]] = []
    for rank, s in enumerate(scored[: max(SPANS_FROM, wanted + 1)]):
        sentence = index.sentence_list[s.row]
        text = sentence.text
        alignment = alignments(s.chunk) if alignments else None
        align = None
        if alignment is not None:
            def align(spans, alignment=alignment, at=sentence.start, end=sentence.end):
                return span_alignments(alignment, (at, end), [(at + a, at + b) for a, b in spans])
        spans = _spans_in(text, kind, question_words, settings.untyped_clause, idf, align)
        if not spans:
            spans = [((0, len(text)), -0.25)]  # the asked-for type is absent: weaker
        for k, (span, span_score) in enumerate(spans[:3]):
            pool.append((s.score + settings.span_weight * span_score, rank * 10 + k, span, s))
    pool.sort(key=lambda x: (-x[0], x[1]))
    out: list[Candidate] = []
    seen: set[str] = set()
    for score, _, (a, b), s in pool:
        sentence = index.sentence_list[s.row]
        citation = make_citation(index, sentence.source, sentence.start + a, sentence.start + b)
        key = " ".join(citation.text.lower().split())
        if key in seen:
            continue
        seen.add(key)
        evidence = make_citation(index, sentence.source, sentence.start, sentence.end)
        out.append(Candidate(citation.text, citation, evidence, float(score)))
        if len(out) > wanted:
            break
    return out


def _entities(question: str) -> set[str]:
    """Stems of the question's capitalised words past its first: the names it is about."""
    out: set[str] = set()
    for m in list(_WORD.finditer(question))[1:]:
        if m.group()[0].isupper():
            out.update(terms(m.group()))
    return out


def _confidence(
    question: str,
    scored: list[_ScoredSentence],
    question_words: set[str],
    idf: _Idf,
    kind: AnswerType,
    best: Candidate,
) -> float:
    """How well the evidence supports an answer, in [0, 1].

    Off-topic questions share few rare words with any sentence and sit far from it in
    vector space; a question about a name that none of the best sentences mentions is
    about something else; a typed question whose type is absent from the evidence is weaker.
    """
    top = scored[0]
    rare = [w for w in question_words if idf(w) >= 1.0] or list(question_words)
    known = sum(idf(w) for w in rare if idf.known(w)) / (sum(idf(w) for w in rare) or 1.0)
    value = 0.5 * top.cosine + 0.3 * top.overlap + 0.2 * known
    entities = _entities(question) & question_words
    if entities:
        near: set[str] = set()
        for s in scored[:ENTITY_CONTEXT]:
            near |= idf.sentence_terms[s.row]
        absent = sum(idf(w) for w in entities - near) / sum(idf(w) for w in entities)
        value -= 0.2 * absent
    if kind.typed and best.citation == best.evidence:
        value -= 0.05
    return float(max(0.0, min(1.0, value)))


def _abstain_reason(question: str, question_words: set[str], top: _ScoredSentence, idf: _Idf) -> str:
    return absent_words_reason(question, idf.known)


def absent_words_reason(question: str, known: Callable[[str], bool]) -> str:
    """Why an answerer abstained: 'nothing in the sources mentions X', naming the question's
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


def _also_in(best: Candidate, scored: list[_ScoredSentence], index) -> tuple[Citation, ...]:
    """The same answer text in well-scored sentences of other files, one per file."""
    needle = re.compile(re.escape(best.text), re.IGNORECASE)
    out: dict[str, Citation] = {}
    for s in scored[:12]:
        sentence = index.sentence_list[s.row]
        if sentence.source == best.citation.source or sentence.source in out:
            continue
        # Searched in the original text (not a lower-cased copy, whose length may differ).
        found = needle.search(sentence.text)
        if found and s.score >= 0.5 * best.score:
            out[sentence.source] = make_citation(
                index, sentence.source, sentence.start + found.start(), sentence.start + found.end()
            )
    return tuple(out.values())
