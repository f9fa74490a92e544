"""How the reader's answer and its abstention are decided, measured where calibration is fitted.

The reader scores spans per passage; `qa/answer/answering.py` picks the best margin less a
penalty per retrieval rank, and `confidence` is a sigmoid of that margin alone. This reads
the held-out calibration questions of a SQuAD 2.0 training file (the articles training
never saw, indexed as `qa train-reader` indexes them) once, keeping every span of the top
10 passages, then scores other ways of choosing and of deciding to abstain, and what reading the
first passages and the rest only when they do not answer (`AskSettings.read_first`)
changes. Each abstain
threshold is chosen on one random half of the questions and scored on the other, both
ways, so no figure is fitted on the questions it scores. Not a test: prints numbers.

    python tests/benchmarks/reader_decisions.py ../shared/squad2/train-v2.0.json \
        [--reader shipped|DIR] [--work DIR] [--questions 4000]

About 12 minutes for 4,000 questions on 2 cores; the reads are cached in `--work`.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TOP_K = 10  # passages retrieved and read here (the reader reads at most READER_READ_K of them)
SPANS = 4  # best spans kept per passage, as question time keeps
# One read span: passage rank, retrieval score, span score, no-answer score, F1 against the
# gold answers, whether its passage holds a gold answer, start and end in the document.
RANK, SCORE, SPAN, NULL, F1, GOLD, START, END = range(8)


def collect(squad_json: Path, reader_name: str, work: Path, limit: int) -> list[dict]:
    from qa.evaluation.metrics import token_f1
    from qa.answer.answering import _whole_words
    from qa.reader.heldout import heldout_questions
    from qa.reader.squad import read_squad
    from qa.reader.weights import open_reader

    # the same sample, index and retriever calibration uses
    questions, pipeline = heldout_questions(read_squad(squad_json), work, limit)
    reader = open_reader(None if reader_name == "shipped" else Path(reader_name))
    index, retriever = pipeline._index, pipeline._retriever
    embedder = pipeline._embedder.questions_on_torch()  # questions encoded as `ask` encodes them
    out = []
    for n, (question, _, gold) in enumerate(questions):
        vector = embedder.embed_query(question)
        passages = retriever.retrieve(question, TOP_K, query_vector=vector)
        found = reader.network.passage_spans(question, [p.text for p in passages], SPANS)
        rows = []
        for k, (p, spans) in enumerate(zip(passages, found)):
            text = index.document(p.source).text
            holds = any(g and g in p.text for g in gold)
            for s in spans:
                a, b = _whole_words(text, p.start + s.start, p.start + s.end)
                f1 = max((token_f1(text[a:b], g) for g in gold), default=0.0)
                rows.append([k, p.score, s.score.span, s.score.no_answer, f1, float(holds), a, b])
        out.append({"answerable": bool(gold), "rows": rows})
        if (n + 1) % 500 == 0:
            print(f"  read {n + 1} of {len(questions)}", flush=True)
    return out


def _score(data, answerable, choose, decide, halves) -> dict:
    """Pick a span per question with `choose`, abstain by `decide`'s score; cross-fitted."""
    from qa.evaluation.metrics import auroc
    from qa.reader.heldout import best_threshold

    picked = [choose(d) for d in data]
    f1 = np.array([r[F1] if r else 0.0 for r, _ in picked])
    features = np.array([feats for _, feats in picked])
    scores = np.zeros(len(data))
    squad2, answered_f1 = [], []
    for half in (0, 1):
        fit, held = halves == half, halves != half
        score = decide(features[fit], f1[fit], answerable[fit])
        scores[held] = score(features[held])
        t = best_threshold(score(features[fit]), f1[fit], answerable[fit])
        answered = scores[held] >= t
        squad2.append(np.where(answerable[held], np.where(answered, f1[held], 0.0), ~answered))
        answered_f1.append(np.where(answered, f1[held], 0.0)[answerable[held]])
    s2, f = float(np.concatenate(squad2).mean()), float(np.concatenate(answered_f1).mean())
    return {
        "f1_unthresholded": float(f1[answerable].mean()),
        "squad2_f1": s2,
        "f1": f,
        "objective": (s2 + f) / 2,  # what best_threshold maximises
        "auroc": auroc(scores.tolist(), answerable.tolist()),
    }


def _chooser(adjust, read: int):
    """The best span by `adjust(row, top retrieval score)` among the first `read` passages,
    with the signals a confidence model may use."""

    def choose(d):
        rows = [r for r in d["rows"] if r[RANK] < read]
        if not rows:
            return None, [0.0] * 11
        top = max(r[SCORE] for r in d["rows"])
        best = max(rows, key=lambda r: adjust(r, top))
        per_passage = {}
        for r in rows:
            if r[RANK] not in per_passage or adjust(r, top) > adjust(per_passage[r[RANK]], top):
                per_passage[r[RANK]] = r
        others = [adjust(r, top) for k, r in per_passage.items() if k != best[RANK]]
        m = adjust(best, top)
        nulls = [r[NULL] for r in per_passage.values()]
        agreeing = sum(1 for k, r in per_passage.items() if k != best[RANK] and r[START] < best[END] and best[START] < r[END])
        feats = [
            m, best[RANK], best[SCORE] - top, best[SPAN], best[NULL], per_passage.get(0, best)[NULL], min(nulls),
            m - max(others, default=m - 10), agreeing, sum(r[SPAN] > r[NULL] for r in per_passage.values()),
            best[END] - best[START],
        ]
        return best, feats

    return choose


def _margin_only(features, f1, answerable):
    return lambda x: x[:, 0]


def _logistic(features, f1, answerable, l2=1e-2, steps=50):
    """P(right) from every signal: Newton's method on log loss, standardised inputs."""
    mean, std = features.mean(0), features.std(0) + 1e-9
    z = np.c_[(features - mean) / std, np.ones(len(features))]
    y = (answerable & (f1 >= 0.5)).astype(float)
    theta = np.zeros(z.shape[1])
    ridge = l2 * len(y) * np.diag(np.r_[np.ones(len(theta) - 1), 0.0])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(z @ theta, -30, 30)))
        theta -= np.linalg.solve((z * (p * (1 - p))[:, None]).T @ z + ridge + 1e-9 * np.eye(len(theta)),
                                 z.T @ (p - y) + ridge @ theta)
    return lambda x: np.c_[(x - mean) / std, np.ones(len(x))] @ theta


def _reading_in_two_steps(data, answerable, calibration) -> None:
    """What answer_question's `read_first` and its read count (READER_READ_K) cost: read
    the first passages, and the rest up to the count only when no answer there reaches the
    abstain threshold (the shipped calibration)."""
    from qa.config import READER_READ_K

    def margin(r):
        return r[SPAN] - r[NULL] - calibration.rank_penalty * r[RANK]

    def best(d, read):
        return max((r for r in d["rows"] if r[RANK] < read), key=lambda r: (margin(r), -r[RANK]), default=None)

    def outcome(r, answerable):
        answered = r is not None and calibration.confidence(margin(r)) >= calibration.threshold
        return (r[F1] if answered else 0.0) if answerable else float(not answered)

    def holds(d, read):  # a passage read holds a gold answer (qa eval's read_hit)
        return any(r[GOLD] for r in d["rows"] if r[RANK] < read)

    full = np.array([outcome(best(d, 5), a) for d, a in zip(data, answerable)])
    print(f"\nreading 5 passages: SQuAD 2.0 F1 {full.mean():.4f} (shipped calibration, no cross-fitting)")
    for read_k in sorted({5, READER_READ_K}):
        for first in (1, 2, 3):
            got, stopped, hit = [], [], []
            for d, a in zip(data, answerable):
                r = best(d, first)
                stop = r is not None and calibration.confidence(margin(r)) >= calibration.threshold
                got.append(outcome(r if stop else best(d, read_k), a))
                stopped.append(stop)
                if a:
                    hit.append(holds(d, first if stop else read_k))
            got, stopped = np.array(got), np.array(stopped)
            print(
                f"reading {first} first, up to {read_k} only when they do not answer: stopped {stopped.mean():.3f} "
                f"(answerable {stopped[answerable].mean():.3f}), answers worse {int((got < full - 1e-9).sum())} "
                f"better {int((got > full + 1e-9).sum())}, SQuAD 2.0 F1 {got.mean():.4f}, "
                f"answerable F1 {got[answerable].mean():.4f}, gold among those read {np.mean(hit):.3f}"
            )


def _headroom(data, answerable) -> None:
    """How much choosing could still win: the F1 of the best of the spans read (the
    reader's top 4 per passage) if the choice among them were perfect, never abstaining;
    the table's "F1 (never abstaining)" column is what the real choices get."""
    from qa.config import READER_READ_K

    answerable_data = [d for d, a in zip(data, answerable) if a]
    for read in sorted({2, READER_READ_K}):
        rows = [[r for r in d["rows"] if r[RANK] < read] for d in answerable_data]
        best = np.mean([max((r[F1] for r in rs), default=0.0) for rs in rows])
        in_gold = np.mean([max((r[F1] for r in rs if r[GOLD]), default=0.0) for rs in rows])
        print(f"best of the spans of the first {read} passages (a perfect choice): F1 {best:.3f}; "
              f"within the passages holding the answer: {in_gold:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad_json", type=Path)
    parser.add_argument("--reader", default="shipped")
    parser.add_argument("--work", type=Path, default=Path("/tmp/qa-reader-decisions"))
    parser.add_argument("--questions", type=int, default=4000)
    args = parser.parse_args()
    cache = args.work / f"reads-{Path(args.reader).name}-{args.questions}-torch-questions.json"
    if cache.exists():
        data = json.loads(cache.read_text())
    else:
        print(f"reading {args.questions} held-out questions (top {TOP_K} passages each)")
        data = collect(args.squad_json, args.reader, args.work, args.questions)
        cache.write_text(json.dumps(data))
    answerable = np.array([d["answerable"] for d in data])
    halves = np.random.RandomState(0).randint(0, 2, len(data))
    margin = lambda r: r[SPAN] - r[NULL]  # noqa: E731
    ways = [(f"margin - {p} x rank", _chooser(lambda r, top, p=p: margin(r) - p * r[RANK], 5), _margin_only)
            for p in (0.0, 0.8, 1.4, 2.0)]
    ways += [(f"margin + {a} x (score - top score)", _chooser(lambda r, top, a=a: margin(r) + a * (r[SCORE] - top), 5),
              _margin_only) for a in (2, 10, 20)]
    ways += [("margin - 1.4 x rank, reading 10", _chooser(lambda r, top: margin(r) - 1.4 * r[RANK], 10), _margin_only)]
    ways += [("logistic regression, 11 signals", _chooser(lambda r, top: margin(r) - 1.4 * r[RANK], 5), _logistic)]
    for read in (5, 10):
        held = np.mean([any(r[GOLD] for r in d["rows"] if r[RANK] < read) for d, a in zip(data, answerable) if a])
        print(f"answer's passage among the first {read}: {held:.3f}")
    _headroom(data, answerable)
    print(f"{len(data)} questions, {int((~answerable).sum())} unanswerable; thresholds cross-fitted on halves")
    print(f"{'choice and confidence':36s} {'F1 (never abstaining)':>22s} {'F1':>6s} {'SQuAD 2.0 F1':>13s} "
          f"{'mean of the two':>16s} {'AUROC':>6s}")
    for name, choose, decide in ways:
        got = _score(data, answerable, choose, decide, halves)
        print(f"{name:36s} {got['f1_unthresholded']:22.3f} {got['f1']:6.3f} {got['squad2_f1']:13.3f} "
              f"{got['objective']:16.3f} {got['auroc']:6.3f}")
    from qa.reader.weights import open_reader

    _reading_in_two_steps(data, answerable, open_reader(None if args.reader == "shipped" else Path(args.reader)).calibration)


if __name__ == "__main__":
    main()
