"""Fine-tuning the cross-encoder reader on a SQuAD 2.0 file (`qa train-reader`).

Examples, as the reader meets passages at question time:
- a question with its paragraph: the answer's first and last word piece, or [CLS] when
  SQuAD 2.0 marks the question unanswerable (on-topic, written to look answerable);
- for 30% of the answerable questions, the paragraph of the same article closest to the
  question that does not contain the answer: "no answer" (retrieval puts such distractors
  next to the answer's passage, and `ask` reads them).
Validation is a split by article (every 20th), as for every reader here.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.evaluation.metrics import auroc
from qa.reader.cross_encoder import CrossConfig, Encoded, batch_tensors
from qa.reader.decoding import best_spans
from qa.reader.squad import SquadParagraph

VALIDATION_EVERY = 20  # every 20th article is held out (~5%): validation and calibration


@dataclass(frozen=True)
class CrossSettings:
    seed: int = 13
    steps: int = 5000  # ~1.1 epochs: 86-101 min here, 97-104 with calibration (model card)
    batch_size: int = 32
    lr: float = 1e-4
    warmup: float = 0.1  # fraction of the steps
    weight_decay: float = 0.01
    negatives: float = 0.3  # other-paragraph examples per answerable question
    # Those paragraphs: the one of the article sharing most of the question's words (as
    # retrieval would rank it), instead of a random one (0.1 random until 2026-12-05).
    similar_negatives: bool = True
    # Weight of a shared-normalisation term (Clark and Gardner 2018): an answerable question
    # and its no-answer paragraph are read in one batch, and one softmax over both passages'
    # tokens must put the answer first, so span scores compare across passages as `ask`
    # compares them. 0: off (each pair alone).
    shared_norm: float = 0.0
    validate_every: int = 1000
    validation_questions: int = 2000  # per validation; the last one reads twice as many
    bf16: bool = False
    # No dropout: on 2 cores it cost 2.7x the time of a step (its masks over every
    # attention matrix outweigh the matrix products), and a run of about one epoch
    # underfits rather than overfits. Measured in the model card.
    dropout: float = 0.0


@dataclass(frozen=True, slots=True)
class Example:
    question: int  # row in the tokenized questions
    paragraph: int  # row in the tokenized paragraphs
    start: int  # answer's first passage token (-1: no answer)
    end: int
    answerable: bool


class Tokenized:
    """Every paragraph and question as word pieces, once; examples are assembled from them."""

    def __init__(self, tok, paragraphs: list[SquadParagraph], config: CrossConfig):
        self.config = config
        self.cls, self.sep = tok.cls_token_id, tok.sep_token_id
        enc = tok([p.context for p in paragraphs], add_special_tokens=False, return_offsets_mapping=True)
        self.passage_ids = [np.asarray(ids, np.int32) for ids in enc["input_ids"]]
        self.offsets = [np.asarray(o, np.int64).reshape(-1, 2) for o in enc["offset_mapping"]]
        questions = [q.question for p in paragraphs for q in p.questions]
        q_enc = tok(questions, add_special_tokens=False, truncation=True, max_length=config.max_question_tokens)
        self.question_ids = [np.asarray(ids, np.int32) for ids in q_enc["input_ids"]]

    def room(self, question: int) -> int:
        return self.config.max_tokens - len(self.question_ids[question]) - 3

    def target(self, question: int, paragraph: int, start: int, end: int) -> tuple[int, int]:
        """The answer's word pieces in the (possibly cut) passage; (-1, -1) when cut off."""
        offsets = self.offsets[paragraph][: self.room(question)]
        inside = np.nonzero((offsets[:, 1] > start) & (offsets[:, 0] < end))[0]
        return (int(inside[0]), int(inside[-1])) if len(inside) else (-1, -1)

    def pair(self, question: int, paragraph: int) -> Encoded:
        q = self.question_ids[question]
        p = self.passage_ids[paragraph][: self.room(question)]
        ids = np.concatenate([[self.cls], q, [self.sep], p, [self.sep]]).astype(np.int32)
        return Encoded(ids, len(q) + 2, self.offsets[paragraph][: len(p)])


class ArticleWords:
    """Each paragraph's words, to find the one of an article closest to a question
    (overlap weighted by the words' IDF within the article)."""

    def __init__(self, paragraphs: list[SquadParagraph], by_article: dict[int, list[int]]):
        from qa.index.lexical import terms

        self.terms = terms
        self.words = [frozenset(terms(p.context)) for p in paragraphs]
        self.idf: dict[int, dict[str, float]] = {}
        for article, rows in by_article.items():
            counts = Counter(w for r in rows for w in self.words[r])
            self.idf[article] = {w: np.log(1 + len(rows) / c) for w, c in counts.items()}

    def closest(self, question: str, article: int, candidates: list[int]) -> int:
        idf = self.idf[article]
        wanted = set(self.terms(question))
        # Ties (no shared word at all, say) go to the first paragraph: so trained.
        return max(candidates, key=lambda r: sum(idf.get(w, 0.0) for w in wanted & self.words[r]))


def build_examples(
    paragraphs: list[SquadParagraph], tokens: Tokenized, negatives: float, seed: int, similar: bool = False
):
    """(train, validation) examples; validation is every VALIDATION_EVERY-th article."""
    rng = random.Random(seed)
    by_article: dict[int, list[int]] = {}
    for p, para in enumerate(paragraphs):
        by_article.setdefault(para.article, []).append(p)
    words = ArticleWords(paragraphs, by_article) if similar else None
    train, valid = [], []
    q_row = 0
    for p, para in enumerate(paragraphs):
        held_out = para.article % VALIDATION_EVERY == 0
        out = valid if held_out else train
        for question in para.questions:
            if not question.answers:
                out.append(Example(q_row, p, -1, -1, False))
            else:
                s, e = tokens.target(q_row, p, *question.answers[0])
                if s >= 0:
                    out.append(Example(q_row, p, s, e, True))
                others = [o for o in by_article[para.article] if o != p]
                if not held_out and others and rng.random() < negatives:
                    answer = para.context[slice(*question.answers[0])].lower()
                    if words is not None:
                        others = [o for o in others if answer not in paragraphs[o].context.lower()]
                        other = words.closest(question.question, para.article, others) if others else None
                    else:
                        other = rng.choice(others)
                    if other is not None and answer not in paragraphs[other].context.lower():
                        out.append(Example(q_row, other, -1, -1, False))
            q_row += 1
    return train, valid


def _batches(examples: list[Example], tokens: Tokenized, size: int, rng: random.Random | None) -> list[list[int]]:
    """Batches of similar length (less padding); shuffled when `rng` is given."""
    order = list(range(len(examples)))
    if rng:
        rng.shuffle(order)
    length = lambda k: len(tokens.passage_ids[examples[k].paragraph])  # noqa: E731
    out = []
    for at in range(0, len(order), size * 50):
        window = sorted(order[at : at + size * 50], key=length)
        out += [window[i : i + size] for i in range(0, len(window), size)]
    if rng:
        rng.shuffle(out)
    return out


def _paired(answer: Example, other: Example) -> bool:
    """`other` is the no-answer paragraph built for `answer`'s question."""
    return answer.answerable and not other.answerable and answer.question == other.question


def _units(examples: list[Example]) -> list[list[int]]:
    """Examples that train together: an answerable question's pair and its no-answer
    paragraph (built right after it), else one example."""
    units: list[list[int]] = []
    for k, e in enumerate(examples):
        last = units[-1] if units else None
        if last and len(last) == 1 and _paired(examples[last[0]], e):
            last.append(k)
        else:
            units.append([k])
    return units


def _unit_batches(examples: list[Example], tokens: Tokenized, size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of about `size` examples, each unit whole (for the shared term)."""
    units = _units(examples)
    rng.shuffle(units)
    length = lambda u: max(len(tokens.passage_ids[examples[k].paragraph]) for k in u)  # noqa: E731
    out: list[list[int]] = []
    for at in range(0, len(units), size * 50):
        batch: list[int] = []
        for unit in sorted(units[at : at + size * 50], key=length):
            if len(batch) + len(unit) > size and batch:
                out.append(batch)
                batch = []
            batch += unit
        if batch:
            out.append(batch)
    rng.shuffle(out)
    return out


def shared_pairs(examples: list[Example], rows: list[int]) -> list[tuple[int, int]]:
    """(answer row, no-answer row) positions in `rows` of the units built by `_units`."""
    return [(i, i + 1) for i in range(len(rows) - 1) if _paired(examples[rows[i]], examples[rows[i + 1]])]


def _tensors(examples: list[Example], rows: list[int], tokens: Tokenized):
    import torch

    pairs = [tokens.pair(examples[k].question, examples[k].paragraph) for k in rows]
    ids, mask, types, allowed = batch_tensors(pairs)
    # Targets in sequence positions; [CLS] (0) is "no answer".
    starts = [examples[k].start + pairs[i].first if examples[k].start >= 0 else 0 for i, k in enumerate(rows)]
    ends = [examples[k].end + pairs[i].first if examples[k].start >= 0 else 0 for i, k in enumerate(rows)]
    return ids, mask, types, allowed, torch.tensor(starts), torch.tensor(ends), pairs


def _span_f1(predicted: tuple[int, int], gold: tuple[int, int]) -> float:
    overlap = max(0, min(predicted[1], gold[1]) - max(predicted[0], gold[0]) + 1)
    return 2 * overlap / (predicted[1] - predicted[0] + 1 + gold[1] - gold[0] + 1) if overlap else 0.0


def evaluate(model, examples: list[Example], tokens: Tokenized, bf16: bool) -> dict:
    """Gold-paragraph SQuAD 2.0 figures (word-piece F1), as for the other reader."""
    import torch

    margins, f1s, answerable = [], [], []
    model.eval()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for rows in _batches(examples, tokens, 64, None):
            ids, mask, types, allowed, _, _, pairs = _tensors(examples, rows, tokens)
            start, end = model(ids, mask, types, allowed)
            start, end = start.float().numpy(), end.float().numpy()
            for i, k in enumerate(rows):
                a, n = pairs[i].first, len(pairs[i].offsets)
                best = best_spans(start[i, a : a + n], end[i, a : a + n], np.array([start[i, 0], end[i, 0]]))[0]
                ex = examples[k]
                margins.append(best.margin)
                answerable.append(ex.answerable)
                f1s.append(_span_f1((best.start, best.end), (ex.start, ex.end)) if ex.answerable else 0.0)
    model.train()
    m, f, a = np.array(margins), np.array(f1s), np.array(answerable)
    squad2 = np.where(a, np.where(m > 0, f, 0.0), (m <= 0).astype(float))
    return {
        "examples": int(len(m)),
        "span_f1_answerable": float(f[a].mean()) if a.any() else 0.0,
        "squad2_token_f1": float(squad2.mean()),
        "no_answer_auroc": auroc(m.tolist(), a.tolist()),
    }


def warmup_then_decay(optimizer, total: int, warmup: float):
    """Linear warm-up over `warmup` of the `total` steps, then linear decay to 0."""
    import torch

    ramp = max(1, int(warmup * total))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / ramp) * max(0.0, 1 - s / total))


def shared_loss(start, end, starts, ends, pairs: list[tuple[int, int]]):
    """Cross-entropy of the answer's start and end over both passages of each pair at once
    (their logits side by side; each passage's [CLS] competes too)."""
    import torch

    F = torch.nn.functional
    a = torch.tensor([i for i, _ in pairs])
    b = torch.tensor([j for _, j in pairs])
    both_start = torch.cat([start[a], start[b]], dim=1).float()
    both_end = torch.cat([end[a], end[b]], dim=1).float()
    return (F.cross_entropy(both_start, starts[a]) + F.cross_entropy(both_end, ends[a])) / 2


def train_step(
    model, optimizer, schedule, trained: list, batch: tuple, bf16: bool,
    pairs: Sequence[tuple[int, int]] = (), shared_norm: float = 0.0,
) -> float:
    """One optimiser step on a batch from `_tensors` (start and end cross-entropy, averaged,
    plus `shared_norm` times `shared_loss` over `pairs`; gradients clipped to norm 1);
    returns the loss."""
    import torch

    ids, mask, types, allowed, starts, ends, _ = batch
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        start, end = model(ids, mask, types, allowed)
    F = torch.nn.functional
    loss = (F.cross_entropy(start, starts) + F.cross_entropy(end, ends)) / 2
    if pairs and shared_norm:
        loss = loss + shared_norm * shared_loss(start, end, starts, ends, list(pairs))
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(trained, 1.0)
    optimizer.step()
    schedule.step()
    return float(loss.detach())


def train_cross(
    paragraphs: list[SquadParagraph],
    settings: CrossSettings,
    config: CrossConfig = CrossConfig(),
    *,
    on_step: Callable[[int, int, float], None] | None = None,
    on_validation: Callable[[object, dict], None] | None = None,
    log: Callable[[str], None] = print,
):
    """Fine-tune; returns (model, history) with the losses and validations."""
    import torch

    from qa.reader.cross_encoder import build_model, tokenizer

    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    tokens = Tokenized(tokenizer(), paragraphs, config)
    train_set, valid_set = build_examples(
        paragraphs, tokens, settings.negatives, settings.seed, settings.similar_negatives
    )
    random.Random(settings.seed).shuffle(valid_set)
    log(
        f"examples: {len(train_set):,} train ({sum(not e.answerable for e in train_set):,} no answer), "
        f"{len(valid_set):,} validation"
    )
    model = build_model(settings.dropout)
    model.train()
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=settings.lr, weight_decay=settings.weight_decay)
    total = settings.steps
    schedule = warmup_then_decay(optimizer, total, settings.warmup)
    history: dict = {"loss": [], "validation": []}
    step, started = 0, time.time()
    grouped = settings.shared_norm > 0
    while step < total:
        batches = (_unit_batches if grouped else _batches)(train_set, tokens, settings.batch_size, rng)
        for rows in batches:
            if step >= total:
                break
            pairs = shared_pairs(train_set, rows) if grouped else []
            loss = train_step(
                model, optimizer, schedule, trained, _tensors(train_set, rows, tokens), settings.bf16,
                pairs, settings.shared_norm,
            )
            step += 1
            history["loss"].append(loss)
            if on_step:
                on_step(step, total, history["loss"][-1])
            if step % settings.validate_every == 0 or step == total:
                n = settings.validation_questions * (2 if step == total else 1)
                figures = evaluate(model, valid_set[:n], tokens, settings.bf16)
                figures.update(step=step, minutes=round((time.time() - started) / 60, 1))
                history["validation"].append(figures)
                log(json.dumps(figures))
                if on_validation:
                    on_validation(model, figures)
    model.eval()
    return model, history
