"""Training the reader on a SQuAD 2.0 file: examples, batches, the loop, the run summary.

Examples come in three kinds, so that the reader learns what it meets at question time,
where it reads ~10 retrieved passages of which usually one holds the answer:
- the passage holding the answer, with its token span;
- the question's own paragraph when SQuAD 2.0 marks it unanswerable (on-topic, written to
  look answerable): "no answer";
- the passage of another paragraph of the same article most similar to the question (a
  retrieval-like hard negative): "no answer".
Validation is a split by article, so no paragraph is seen in both.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qa.evaluation.metrics import auroc
from qa.reader.decoding import best_spans
from qa.reader.features import Features
from qa.reader.groups import Groups, token_target, build_groups
from qa.reader.matching import match_features, question_words
from qa.reader.squad import SquadParagraph

VALIDATION_EVERY = 20  # every 20th article is held out (~5%)


@dataclass(frozen=True)
class Examples:
    """Parallel arrays: passage row, question row, target start/end tokens (-1: no answer)
    and kind (0 answer, 1 unanswerable paragraph, 2 other paragraph)."""

    passage: np.ndarray
    question: np.ndarray
    start: np.ndarray
    end: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return len(self.passage)

    def take(self, rows: np.ndarray) -> Examples:
        return Examples(*(getattr(self, f)[rows] for f in ("passage", "question", "start", "end", "kind")))


def build_examples(paragraphs: list[SquadParagraph], features: Features, hard_negatives: bool = True) -> Examples:
    meta = features.passage_meta
    by_paragraph: dict[int, list[int]] = {}
    for row, (p, _, _) in enumerate(meta.tolist()):
        by_paragraph.setdefault(p, []).append(row)
    by_article: dict[int, list[int]] = {}
    for p, para in enumerate(paragraphs):
        by_article.setdefault(para.article, []).append(p)
    rows_p, rows_q, starts, ends, kinds = [], [], [], [], []

    def add(passage, question, s, e, kind):
        rows_p.append(passage), rows_q.append(question), starts.append(s), ends.append(e), kinds.append(kind)

    q_row = 0
    question_rows: dict[int, list[int]] = {}
    for p, para in enumerate(paragraphs):
        question_rows[p] = list(range(q_row, q_row + len(para.questions)))
        for question in para.questions:
            for row in by_paragraph.get(p, []):
                _, a, b = meta[row]
                if not question.answers:
                    add(row, q_row, -1, -1, 1)
                    continue
                s, e = question.answers[0]
                if a <= s and e <= b:
                    ts, te = token_target(np.asarray(features.passages.spans[features.passages.rows(row)]), s - a, e - a)
                    if ts >= 0:
                        add(row, q_row, ts, te, 0)
                elif e <= a or s >= b:
                    add(row, q_row, -1, -1, 2)  # another chunk of a long paragraph
            q_row += 1
    if hard_negatives:
        pvec = np.asarray(features.passage_vectors, np.float32)
        qvec = np.asarray(features.question_vectors, np.float32)
        for article, paras in by_article.items():
            rows = [r for p in paras for r in by_paragraph.get(p, [])]
            if len(paras) < 2 or not rows:
                continue
            rows_arr = np.array(rows)
            owner = meta[rows_arr, 0]
            qs = [(p, q) for p in paras for q, sq in zip(question_rows[p], paragraphs[p].questions) if sq.answers]
            if not qs:
                continue
            sims = qvec[[q for _, q in qs]] @ pvec[rows_arr].T
            for k, (p, q) in enumerate(qs):
                sims[k, owner == p] = -np.inf
                add(int(rows_arr[int(np.argmax(sims[k]))]), q, -1, -1, 2)
    return Examples(*(np.array(x, np.int64) for x in (rows_p, rows_q, starts, ends)), np.array(kinds, np.int8))


def split_by_article(paragraphs: list[SquadParagraph], features: Features, examples: Examples) -> tuple[Examples, Examples]:
    article = np.array([paragraphs[p].article for p in features.passage_meta[:, 0]])[examples.passage]
    held = article % VALIDATION_EVERY == 0
    return examples.take(np.nonzero(~held)[0]), examples.take(np.nonzero(held)[0])


def _length_batches(lengths: np.ndarray, size: int, rng: random.Random | None) -> list[np.ndarray]:
    """Batches of row indices of similar `lengths` (sorted within windows of 50 batches,
    so padding stays small), in shuffled order when `rng` is given."""
    order = np.arange(len(lengths))
    if rng is not None:
        order = np.array(rng.sample(range(len(lengths)), len(lengths)))
    window = size * 50
    out = []
    for w in range(0, len(order), window):
        part = order[w : w + window]
        part = part[np.argsort(lengths[part], kind="stable")]
        out.extend(part[i : i + size] for i in range(0, len(part), size))
    if rng is not None:
        rng.shuffle(out)
    return out


class Batcher:
    """Turns example rows into padded tensors (passages of similar length batched together)."""

    def __init__(self, paragraphs: list[SquadParagraph], features: Features):
        self.features = features
        self.p_vectors = np.asarray(features.passages.vectors)
        self.q_vectors = np.asarray(features.questions.vectors)
        self.p_spans = np.asarray(features.passages.spans)
        self.p_bounds = np.asarray(features.passages.bounds)
        self.q_bounds = np.asarray(features.questions.bounds)
        self.p_texts = [paragraphs[p].context[a:b] for p, a, b in features.passage_meta.tolist()]
        questions = [q.question for p in paragraphs for q in p.questions]
        self.q_words = [question_words(q) for q in questions]
        self._matches: dict[tuple[int, int], np.ndarray] = {}

    def lengths(self, examples: Examples) -> np.ndarray:
        return (self.p_bounds[examples.passage + 1] - self.p_bounds[examples.passage]).astype(np.int64)

    def batches(self, examples: Examples, size: int, rng: random.Random | None) -> list[np.ndarray]:
        """Index arrays into `examples`: sorted by length in windows, then shuffled."""
        return _length_batches(self.lengths(examples), size, rng)

    def group_batches(self, groups: Groups, size: int, rng: random.Random | None) -> list[np.ndarray]:
        """Index arrays into `groups`, batched by their longest passage (as `batches`)."""
        return _length_batches((self.p_bounds[groups.passage + 1] - self.p_bounds[groups.passage]).max(axis=1), size, rng)

    def group_tensors(self, groups: Groups, rows: np.ndarray):
        """The tensors of `tensors` for every passage of the groups, group by group."""
        size = groups.passage.shape[1]
        flat = Examples(
            groups.passage[rows].ravel(), np.repeat(groups.question[rows], size),
            groups.start[rows].ravel(), groups.end[rows].ravel(), np.zeros(len(rows) * size, np.int8),
        )
        return self.tensors(flat, np.arange(len(flat)))

    def tensors(self, examples: Examples, rows: np.ndarray):
        import torch

        ps, qs = examples.passage[rows], examples.question[rows]
        p_len = self.p_bounds[ps + 1] - self.p_bounds[ps]
        q_len = self.q_bounds[qs + 1] - self.q_bounds[qs]
        b, L, M = len(rows), int(p_len.max()), int(q_len.max())
        dim = self.p_vectors.shape[1]
        passage = np.zeros((b, L, dim), np.float32)
        question = np.zeros((b, M, dim), np.float32)
        matches = np.zeros((b, L, 2), np.float32)
        p_mask = np.zeros((b, L), bool)
        q_mask = np.zeros((b, M), bool)
        for k, (p, q) in enumerate(zip(ps.tolist(), qs.tolist())):
            a, z = self.p_bounds[p], self.p_bounds[p + 1]
            passage[k, : z - a] = self.p_vectors[a:z]
            p_mask[k, : z - a] = True
            a2, z2 = self.q_bounds[q], self.q_bounds[q + 1]
            question[k, : z2 - a2] = self.q_vectors[a2:z2]
            q_mask[k, : z2 - a2] = True
            matches[k, : z - a] = match_features(self.p_texts[p], self.p_spans[a:z], self.q_words[q])
        return (
            torch.from_numpy(passage),
            torch.from_numpy(p_mask),
            torch.from_numpy(matches),
            torch.from_numpy(question),
            torch.from_numpy(q_mask),
            torch.from_numpy(examples.start[rows]),
            torch.from_numpy(examples.end[rows]),
        )


@dataclass
class TrainSettings:
    epochs: float = 2.0
    batch_size: int = 64
    lr: float = 1.5e-3
    weight_decay: float = 0.01
    warmup: int = 300
    seed: int = 13
    max_steps: int | None = None  # stop early (tests, smoke runs)
    validate_every: int = 800  # steps between validations (each ~20 s)
    # bf16 autocast where the CPU has native bfloat16 (AMX/AVX-512 BF16): 1.5-3x faster
    # steps here; the weights stay fp32 and read the same in fp32 at question time.
    bf16: bool = False


def _span_f1(predicted: tuple[int, int], gold: tuple[int, int]) -> float:
    """Token F1 of two inclusive token spans."""
    overlap = max(0, min(predicted[1], gold[1]) - max(predicted[0], gold[0]) + 1)
    if not overlap:
        return 0.0
    return 2 * overlap / (predicted[1] - predicted[0] + 1 + gold[1] - gold[0] + 1)


def evaluate(model, batcher: Batcher, examples: Examples, limit: int = 6000) -> dict:
    """Paragraph-level SQuAD 2.0 figures on the validation split (answer vs no answer)."""
    import torch

    rows = np.arange(min(limit, len(examples)))
    margins, f1s, answerable = [], [], []
    model.eval()
    with torch.inference_mode():
        for batch in batcher.batches(examples.take(rows), 128, None):
            p, pm, m, q, qm, ts, te = batcher.tensors(examples, rows[batch])
            start, end, null = model(p, pm, m, q, qm)
            for k in range(len(batch)):
                n = int(pm[k].sum())
                best = best_spans(start[k, :n].numpy(), end[k, :n].numpy(), null[k].numpy())[0]
                gold = (int(ts[k]), int(te[k]))
                margins.append(best.margin)
                answerable.append(gold[0] >= 0)
                f1s.append(_span_f1((best.start, best.end), gold) if gold[0] >= 0 else None)
    model.train()
    margins_a = np.array(margins)
    answerable_a = np.array(answerable)
    token_f1 = np.array([f if f is not None else 0.0 for f in f1s])
    squad2 = np.where(answerable_a, np.where(margins_a > 0, token_f1, 0.0), (margins_a <= 0).astype(float))
    return {
        "examples": int(len(margins_a)),
        "span_f1_answerable": float(token_f1[answerable_a].mean()) if answerable_a.any() else 0.0,
        "squad2_token_f1": float(squad2.mean()),
        "no_answer_auroc": auroc(margins_a, answerable_a),
    }


def evaluate_groups(model, batcher: Batcher, groups: Groups, limit: int = 3000) -> dict:
    """As at question time: the best span over a question's passages against "no answer"
    (margin > 0 answers); F1 only when that span is in the passage holding the answer."""
    import torch

    groups = groups.take(np.arange(min(limit, len(groups))))
    size = groups.passage.shape[1]
    margins, f1s, answerable = [], [], []
    model.eval()
    with torch.inference_mode():
        for batch in batcher.group_batches(groups, 64, None):
            answerable.extend(groups.take(batch).answerable.tolist())
            p, pm, m, q, qm, ts, te = batcher.group_tensors(groups, batch)
            start, end, null = model(p, pm, m, q, qm)
            for g in range(len(batch)):
                best, best_slot = None, -1
                for k in range(g * size, (g + 1) * size):
                    n = int(pm[k].sum())
                    span = best_spans(start[k, :n].float().numpy(), end[k, :n].float().numpy(), null[k].float().numpy())[0]
                    if best is None or span.margin > best.margin:
                        best, best_slot = span, k
                margins.append(best.margin)
                gold = (int(ts[best_slot]), int(te[best_slot]))
                f1s.append(_span_f1((best.start, best.end), gold) if gold[0] >= 0 else 0.0)
    model.train()
    margins_a, f1_a, answerable = np.array(margins), np.array(f1s), np.array(answerable)
    squad2 = np.where(answerable, np.where(margins_a > 0, f1_a, 0.0), (margins_a <= 0).astype(float))
    return {
        "group_f1_answerable_unthresholded": float(f1_a[answerable].mean()) if answerable.any() else 0.0,
        "group_squad2_f1": float(squad2.mean()),
        "group_auroc": auroc(margins_a, answerable),
    }


def train(
    paragraphs: list[SquadParagraph],
    features: Features,
    config,
    settings: TrainSettings,
    *,
    on_step: Callable[[int, int, float], None] | None = None,
    on_validation: Callable[[object, dict], None] | None = None,
    log: Callable[[str], None] = print,
):
    """Train a Reader; returns (model, history) where history holds losses and validations."""
    import torch

    from qa.reader.model import Reader, span_loss

    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    examples = build_examples(paragraphs, features)
    train_set, valid_set = split_by_article(paragraphs, features, examples)
    valid_set = valid_set.take(np.array(random.Random(settings.seed).sample(range(len(valid_set)), len(valid_set))))
    # The held-out questions again, each with its passage and two retrieval-like others:
    # the question-time choice among passages (qa/reader/groups.py).
    valid_groups = build_groups(paragraphs, features, articles=lambda a: a % VALIDATION_EVERY == 0, seed=settings.seed)
    valid_groups = valid_groups.take(np.array(random.Random(settings.seed).sample(range(len(valid_groups)), len(valid_groups))))
    log(
        f"examples: {len(train_set):,} train, {len(valid_set):,} validation "
        f"(kinds {np.bincount(train_set.kind, minlength=3).tolist()}); {len(valid_groups):,} validation groups"
    )
    batcher = Batcher(paragraphs, features)
    model = Reader(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    steps_per_epoch = math.ceil(len(train_set) / settings.batch_size)
    total = int(steps_per_epoch * settings.epochs)
    if settings.max_steps is not None:
        total = min(total, settings.max_steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(1.0, (s + 1) / settings.warmup) * max(0.02, 1 - s / max(1, total)),
    )
    history = {"loss": [], "validation": []}
    step = 0
    started = time.time()
    model.train()
    while step < total:
        for rows in batcher.batches(train_set, settings.batch_size, rng):
            if step >= total:
                break
            *inputs, ts, te = batcher.tensors(train_set, rows)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=settings.bf16):
                loss = span_loss(*model(*inputs), ts, te)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            schedule.step()
            step += 1
            history["loss"].append(float(loss.detach()))
            if on_step:
                on_step(step, total, history["loss"][-1])
            if step % settings.validate_every == 0 or step == total:
                figures = evaluate(model, batcher, valid_set, limit=4000 if step < total else 20_000)
                figures.update(evaluate_groups(model, batcher, valid_groups, limit=2000 if step < total else 6000))
                figures.update(step=step, minutes=round((time.time() - started) / 60, 1))
                history["validation"].append(figures)
                log(json.dumps(figures))
                if on_validation:
                    on_validation(model, figures)
    model.eval()
    return model, history
