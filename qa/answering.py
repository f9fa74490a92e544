"""Extractive answers: choose the supporting sentence, then a short verbatim span in it.

No trained reader model is available offline, so the answer is found in three steps:
1. every sentence of the top passages is scored by its cosine to the question (sentence
   vectors pooled at index time, so nothing is embedded here), its IDF-weighted overlap
   with the question's words, and the score of its passage;
2. in the best sentences, when the question asks for a specific thing (who, when, how
   many...), candidate spans of that type are scored by their distance to the words the
   question and sentence share; otherwise the sentence itself is the answer;
3. a confidence is computed from the evidence, and below the threshold (config) the
   pipeline abstains and says why.
Every span is cut from the document text, so answers are verbatim by construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qa.answer_types import AnswerType, candidate_spans, question_type
from qa.config import AskSettings
from qa.lexical import terms
from qa.types import Answer, Candidate, Citation, Passage


@dataclass(frozen=True, slots=True)
class _ScoredSentence:
    row: int
    score: float
    cosine: float
    overlap: float
    passage_score: float


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


class _Idf:
    """Inverse document frequency of stemmed words over the index's sentences, and each
    sentence's set of words (both computed once per loaded index)."""

    def __init__(self, index):
        counts: dict[str, int] = {}
        self.sentence_terms = [frozenset(terms(s.text)) for s in index.sentence_list]
        for words in self.sentence_terms:
            for w in words:
                counts[w] = counts.get(w, 0) + 1
        self.n = max(1, len(self.sentence_terms))
        self.idf = {w: math.log(1 + self.n / c) for w, c in counts.items()}
        self.unseen = math.log(1 + self.n)

    def __call__(self, word: str) -> float:
        return self.idf.get(word, self.unseen)


def _idf_of(index) -> _Idf:
    idf = getattr(index, "_qa_idf", None)
    if idf is None:
        idf = _Idf(index)
        index._qa_idf = idf  # computed once per loaded index
    return idf


def _score_sentences(
    question_words: set[str], query_vector: np.ndarray, passages: list[Passage], index, idf: _Idf
) -> list[_ScoredSentence]:
    total_idf = sum(idf(w) for w in question_words) or 1.0
    seen: dict[int, _ScoredSentence] = {}
    for passage in passages:
        rows = index.sentence_rows_within(passage.source, passage.start, passage.end)
        if not len(rows):
            continue
        vectors = index.sentence_vectors[rows.start : rows.stop].astype(np.float32)
        cosines = vectors @ query_vector
        for k, row in enumerate(rows):
            overlap = sum(idf(w) for w in question_words & idf.sentence_terms[row]) / total_idf
            cosine = float(cosines[k])
            score = 0.45 * cosine + 0.35 * overlap + 0.20 * passage.score
            if row not in seen or seen[row].score < score:
                seen[row] = _ScoredSentence(row, score, cosine, overlap, passage.score)
    return sorted(seen.values(), key=lambda s: (-s.score, s.row))


def _best_span(question: str, kind: AnswerType, sentence_text: str, question_words: set[str]):
    """The best typed span inside the sentence, as (start, end) relative to it, or None."""
    spans = candidate_spans(kind, sentence_text)
    if not spans:
        return None
    sentence_words = set(terms(sentence_text))
    lowered = sentence_text.lower()
    anchors = [lowered.find(w) for w in question_words if w in sentence_words]
    anchors = [a for a in anchors if a >= 0]

    def score(span: tuple[int, int]) -> tuple[float, int]:
        text = sentence_text[span[0] : span[1]]
        words = set(terms(text))
        if words and words <= question_words:
            return (-1e9, span[0])  # the question's own words are not its answer
        penalty = len(words & question_words)
        distance = min((abs(a - span[0]) for a in anchors), default=0)
        return (-distance / 40.0 - penalty, -span[0])

    best = max(spans, key=score)
    if score(best)[0] <= -1e8:
        return None
    return best


def answer_question(
    question: str,
    query_vector: np.ndarray,
    passages: list[Passage],
    index,
    settings: AskSettings,
    *,
    alternatives: int = 3,
) -> Answer:
    passages = list(passages)
    if not passages:
        return Answer(question, None, reason="the index holds no passages to answer from")
    idf = _idf_of(index)
    question_words = set(terms(question))
    kind = question_type(question)
    scored = _score_sentences(question_words, query_vector, passages[: settings.read_k], index, idf)
    if not scored:
        return Answer(question, None, reason="no sentence in the sources relates to the question", passages=tuple(passages))

    candidates: list[Candidate] = []
    for s in scored[: max(1, alternatives) * 2]:
        sentence = index.sentence_list[s.row]
        span = _best_span(question, kind, sentence.text, question_words) if kind.typed else None
        start, end = (sentence.start + span[0], sentence.start + span[1]) if span else (sentence.start, sentence.end)
        if kind.typed and span is None:
            score = s.score * 0.8  # the asked-for type is absent: weaker evidence
        else:
            score = s.score
        evidence = make_citation(index, sentence.source, sentence.start, sentence.end)
        citation = make_citation(index, sentence.source, start, end)
        if any(c.citation.text.lower() == citation.text.lower() for c in candidates):
            continue
        candidates.append(Candidate(citation.text, citation, evidence, float(score)))
    candidates.sort(key=lambda c: -c.score)
    best = candidates[0]
    confidence = float(max(0.0, min(1.0, best.score)))
    if confidence < settings.abstain_threshold:
        missing = sorted(question_words - set(terms(best.evidence.text)))
        reason = (
            f"nothing in the sources mentions {', '.join(missing[:4])}"
            if missing
            else "the closest passages do not answer the question"
        )
        return Answer(question, None, confidence=confidence, reason=reason, passages=tuple(passages))
    also = _also_in(best, scored, index)
    best = Candidate(best.text, best.citation, best.evidence, best.score, also)
    return Answer(
        question,
        best,
        alternatives=tuple(candidates[1 : 1 + alternatives]),
        confidence=confidence,
        passages=tuple(passages),
    )


def _also_in(best: Candidate, scored: list[_ScoredSentence], index) -> tuple[Citation, ...]:
    """The same answer text in well-scored sentences of other files."""
    needle = best.text.lower()
    out: dict[str, Citation] = {}
    for s in scored[:10]:
        sentence = index.sentence_list[s.row]
        if sentence.source == best.citation.source or sentence.source in out:
            continue
        at = sentence.text.lower().find(needle)
        if at >= 0 and s.score >= 0.6 * best.score:
            out[sentence.source] = make_citation(
                index, sentence.source, sentence.start + at, sentence.start + at + len(best.text)
            )
    return tuple(out.values())
