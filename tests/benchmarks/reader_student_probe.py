"""Would a shallower reader keep its quality? A probe for the question-time budget.

The reader's forward pass over 5 passages is most of a warm `ask` (model card), and a
network with half the layers would take about half of it. This cuts the shipped 6-layer
reader down to some of its layers (every other one by default), fine-tunes that on the
SQuAD 2.0 training file as `qa train-reader` does (same examples, batches and validation
split by article; hard targets, no distillation), and prints the gold-paragraph validation
figures of the full reader and of the cut one as it trains. Not a test: prints numbers.

    python tests/benchmarks/reader_student_probe.py ../shared/squad2/train-v2.0.json \
        [--layers 0,2,4] [--steps 1500] [--lr 1e-4]

About 20 minutes on 2 cores for 1,500 steps of 32 (~0.7 s a step for 3 layers).
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    import torch

    from qa.reader.cross_encoder import CrossConfig, build_model, load_tensors, tokenizer
    from qa.reader.cross_training import (
        CrossSettings, Tokenized, _batches, _tensors, build_examples, evaluate, train_step, warmup_then_decay,
    )
    from qa.reader.squad import read_squad
    from qa.reader.weights import load_reader

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("squad_json", type=Path)
    parser.add_argument("--layers", default="0,2,4", help="the shipped reader's layers to keep (0-5)")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--validation", type=int, default=2000, help="validation examples per check")
    args = parser.parse_args()
    keep = [int(k) for k in args.layers.split(",")]
    settings = CrossSettings()
    torch.manual_seed(settings.seed)
    paragraphs = read_squad(args.squad_json)
    tokens = Tokenized(tokenizer(), paragraphs, CrossConfig())
    train, valid = build_examples(paragraphs, tokens, settings.negatives, settings.seed, settings.similar_negatives)
    random.Random(settings.seed).shuffle(valid)
    valid = valid[: args.validation]

    def show(label: str, figures: dict) -> None:
        print(f"{label:24s} span F1 {figures['span_f1_answerable']:.3f}  SQuAD 2.0 F1 "
              f"{figures['squad2_token_f1']:.3f}  AUROC {figures['no_answer_auroc']:.3f}", flush=True)

    model = build_model(0.0)
    load_tensors(model, load_reader().tensors)
    show("shipped, 6 layers", evaluate(model, valid, tokens, True))
    model.bert.encoder.layer = torch.nn.ModuleList([model.bert.encoder.layer[k] for k in keep])
    model.bert.config.num_hidden_layers = len(keep)
    show(f"layers {args.layers}, step 0", evaluate(model, valid, tokens, True))
    model.train()
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=args.lr, weight_decay=settings.weight_decay)
    schedule = warmup_then_decay(optimizer, args.steps, settings.warmup)
    for step, rows in enumerate(_batches(train, tokens, settings.batch_size, random.Random(settings.seed + 1)), 1):
        train_step(model, optimizer, schedule, trained, _tensors(train, rows, tokens), True)
        if step % max(1, args.steps // 3) == 0 or step == args.steps:
            show(f"layers {args.layers}, step {step}", evaluate(model, valid, tokens, True))
        if step >= args.steps:
            break
    print(json.dumps({"layers": keep, "steps": args.steps, "lr": args.lr}))


if __name__ == "__main__":
    main()
