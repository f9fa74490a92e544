"""Metrics against values computed by hand on a small fixture (shown in the comments)."""

from __future__ import annotations

import pytest

from qa.evaluation.metrics import (
    aggregate,
    auroc,
    contains,
    exact_match,
    normalize_answer,
    percentile,
    score_question,
    token_f1,
)
from qa.evaluation.questions import GoldAnswer, Question
from qa.types import Answer, Candidate, Chunk, Citation, Passage

DOC = (
    "Super Bowl 50 was won by the Denver Broncos. "
    "It was played in 2016 at Levi's Stadium.\n"
    "The Carolina Panthers lost."
)
TEXTS = {"d.txt": DOC, "e.txt": "Denver Broncos elsewhere."}
S1 = "Super Bowl 50 was won by the Denver Broncos."
S2 = "It was played in 2016 at Levi's Stadium."
S3 = "The Carolina Panthers lost."


def cite(text: str, source: str = "d.txt", within: str | None = None) -> Citation:
    doc = TEXTS[source]
    start = doc.index(text, doc.index(within) if within else 0)
    line = doc.count("\n", 0, start) + 1
    return Citation(source, start, start + len(text), line, line, text)


def gold(text: str, source: str = "d.txt") -> GoldAnswer:
    c = cite(text, source)
    return GoldAnswer(text, c.source, c.start, c.end)


def passage(text: str, source: str = "d.txt") -> Passage:
    c = cite(text, source)
    return Passage(Chunk(c.source, c.start, c.end, text, 0), score=0.5)


def answer(
    text: str | None,
    *,
    citation: Citation | None = None,
    evidence: Citation | None = None,
    passages: tuple[Passage, ...] = (),
    latency: float = 1.0,
    confidence: float = 0.5,
    read: int | None = None,
) -> Answer:
    best = None
    if text is not None:
        citation = citation or cite(text)
        best = Candidate(text, citation, evidence or citation, confidence)
    read = len(passages) if read is None else read
    return Answer("q?", best, confidence=confidence, passages=passages, latency_ms=latency, read=read)


def q(answers: tuple[GoldAnswer, ...], qid: str = "q") -> Question:
    return Question(qid, "q?", answers, 1)


def result(question: Question, ans: Answer):
    return score_question(question, ans, TEXTS.get)


# --- normalisation, EM, F1, contains ----------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("The  Quick, brown FOX!", "quick brown fox"),  # case, punctuation, article, spaces
        ("an apple a day", "apple day"),  # every article, as a whole word only
        ("Levi's  Stadium", "levis stadium"),  # the apostrophe is removed, not split on
        ("theatre anthem", "theatre anthem"),  # "the"/"an" inside words stay
        ("U.S.\tArmy\n", "us army"),
    ],
)
def test_squad_normalisation(raw, normalised):
    assert normalize_answer(raw) == normalised


def test_exact_match_after_normalisation():
    assert exact_match("the Denver Broncos.", "Denver Broncos") == 1.0
    assert exact_match("Broncos", "Denver Broncos") == 0.0


def test_token_f1_by_hand():
    # pred {denver, broncos, won}, gold {denver, broncos}: P 2/3, R 1, F1 = 2*(2/3)/(5/3) = 0.8
    assert token_f1("Denver Broncos won", "the Denver Broncos") == pytest.approx(0.8)
    # a repeated token matches once per gold occurrence: pred [x, y, y] vs gold [y]:
    # common 1, P 1/3, R 1 -> F1 0.5
    assert token_f1("x y y", "y") == pytest.approx(0.5)
    assert token_f1("Panthers", "Denver Broncos") == 0.0
    assert token_f1("the", "a") == 1.0  # both empty after normalisation: SQuAD counts a match


def test_contains_is_token_aligned():
    assert contains("It was played in 2016 at Levi's Stadium.", "2016")
    assert not contains("in 20165", "2016")
    assert contains("the Denver Broncos won", "Denver Broncos")


def test_multi_answer_takes_the_best_gold():
    question = q((GoldAnswer("Carolina Panthers"), GoldAnswer("Denver Broncos")))
    r = result(question, answer("Broncos", citation=cite("Broncos")))
    # vs "Carolina Panthers": 0; vs "Denver Broncos": P 1, R 1/2, F1 2/3
    assert r.f1 == pytest.approx(2 / 3)
    assert r.em == 0.0
    question = q((GoldAnswer("Carolina Panthers"), GoldAnswer("the Broncos")))
    assert result(question, answer("Broncos", citation=cite("Broncos"))).em == 1.0


# --- offset metrics -----------------------------------------------------------------------


def test_citation_hit_needs_overlap_in_the_same_source():
    question = q((gold("Denver Broncos"),))
    assert result(question, answer("Broncos", citation=cite("Broncos"))).citation_hit
    assert not result(question, answer("Panthers", citation=cite("Panthers"))).citation_hit
    other = answer("Denver Broncos", citation=cite("Denver Broncos", "e.txt"))
    assert not result(question, other).citation_hit


def test_evidence_hit_uses_the_supporting_sentence():
    question = q((gold("2016"),))
    hit = answer("Levi's Stadium", evidence=cite(S2))
    miss = answer("Carolina Panthers", evidence=cite(S3))
    assert result(question, hit).evidence_hit and not result(question, hit).citation_hit
    assert not result(question, miss).evidence_hit


def test_rank_of_the_first_passage_holding_the_gold():
    question = q((gold("2016"),))
    ranked = (passage(S3), passage(S1), passage(S2))
    assert result(question, answer(None, passages=ranked)).rank == 3
    assert result(question, answer(None, passages=(passage(S1),))).rank is None


def test_verbatim_compares_the_answer_with_the_cited_text():
    assert result(q(()), answer("Carolina Panthers")).verbatim is True
    loose = answer("the Carolina Panthers", citation=cite("Carolina Panthers"))
    assert result(q(()), loose).verbatim is False
    assert result(q(()), answer(None)).verbatim is None


def test_percentile_interpolates_linearly():
    values = [40, 10, 100, 30, 20]
    assert percentile(values, 50) == 30  # middle of 10 20 30 40 100
    assert percentile(values, 95) == pytest.approx(88)  # rank 3.8: 40 + 0.8 * 60
    assert percentile([], 50) is None


# --- a run: every metric over a five-question fixture --------------------------------------


def _run():
    q1 = q((gold("Denver Broncos"),), "q1")
    q2 = q((gold("2016"),), "q2")
    q3 = q((GoldAnswer("Levi's Stadium"),), "q3")  # text-only gold
    q4 = q((), "q4")
    q5 = q((), "q5")
    answers = [
        answer("Denver Broncos", evidence=cite(S1), passages=(passage(S1),), latency=10),
        answer(S2, passages=(passage(S3), passage(S2)), latency=20),
        answer(None, latency=30),
        answer(None, latency=40),
        # not verbatim: the answer says more than the span it cites
        answer("the Carolina Panthers", citation=cite("Carolina Panthers"), latency=100),
    ]
    return [result(question, a) for question, a in zip((q1, q2, q3, q4, q5), answers)]


def test_run_metrics_by_hand():
    m = aggregate(_run())
    assert (m.questions, m.answerable, m.unanswerable, m.with_offsets, m.answered) == (5, 3, 2, 2, 3)
    # answerable q1 q2 q3. EM: 1, 0, 0 (abstained) -> 1/3.
    assert m["em"] == pytest.approx(0.3333)
    # F1: 1; q2: 8 tokens "it was played in 2016 at levis stadium" vs "2016": P 1/8, R 1,
    # F1 2/9; q3 0 -> (1 + 2/9) / 3 = 11/27 = 0.4074
    assert m["f1"] == pytest.approx(0.4074)
    assert m["contains"] == pytest.approx(0.6667)  # q1, q2
    # offsets only for q1, q2 (q3's gold is text-only)
    assert m["citation_hit"] == 1.0
    assert m["evidence_hit"] == 1.0
    assert m["hit@1"] == 0.5  # ranks 1 and 2
    assert m["hit@5"] == 1.0
    assert m["hit@10"] == 1.0
    assert m["mrr@10"] == 0.75  # (1 + 1/2) / 2
    assert m["read_hit"] == 1.0  # both read their whole list
    assert m["abstain_unanswerable"] == 0.5  # q4 abstained, q5 answered
    assert m["abstain_answerable"] == pytest.approx(0.3333)  # q3
    assert m["verbatim"] == pytest.approx(0.6667)  # q1, q2 yes; q5 no
    assert m["latency_p50_ms"] == 30
    assert m["latency_p95_ms"] == 88
    # SQuAD 2.0 F1 over all five: answerable F1s 1, 2/9, 0; q4 abstained 1, q5 answered 0
    assert m["squad2_f1"] == pytest.approx((1 + 2 / 9 + 0 + 1 + 0) / 5, abs=1e-4)
    # every confidence is 0.5: no separation at all
    assert m["abstain_auroc"] == 0.5
    assert m.over("hit@1") == 2 and m.over("verbatim") == 3 and m.over("em") == 3 and m.over("abstain_auroc") == 5


def test_auroc_by_hand():
    # positives 0.9, 0.4; negatives 0.5, 0.1: pairs won 0.9>0.5, 0.9>0.1, 0.4>0.1, lost 0.4<0.5
    assert auroc([0.9, 0.4, 0.5, 0.1], [True, True, False, False]) == 0.75
    assert auroc([0.3, 0.3], [True, False]) == 0.5  # a tie counts half
    assert auroc([1.0, 0.0], [True, False]) == 1.0
    assert auroc([0.2, 0.7], [True, True]) is None  # no negatives: undefined


def test_metrics_over_nothing_are_none():
    m = aggregate([r for r in _run() if r.answerable])
    assert m["abstain_unanswerable"] is None
    assert m["abstain_auroc"] is None
    assert m.as_dict()["abstain_unanswerable"] is None


def test_read_hit_counts_only_the_passages_that_were_read():
    q1 = q((gold("Denver Broncos"),), "q1")
    q2 = q((gold("2016"),), "q2")
    both = (passage(S3), passage(S1))  # the gold of q1 is second
    results = [
        result(q1, answer("Denver Broncos", passages=both, read=1)),  # stopped before it
        result(q2, answer(None, passages=(passage(S2), passage(S3)), read=2)),
    ]
    m = aggregate(results)
    assert m["hit@5"] == 1.0
    assert m["read_hit"] == 0.5
    assert [r.read_hit for r in results] == [False, True]
    assert result(q((), "q3"), answer(None, passages=both)).read_hit is None  # unanswerable
