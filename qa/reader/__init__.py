"""The trained reader: scores answer spans and "no answer" in retrieved passages.

- `cross_encoder`: the shipped reader, the bundled MiniLM fine-tuned to read the question
  and a passage together (its question-time forward pass: `cross_network`).
- `decoding`: the best spans of a passage from its start and end logits.
- `threads`: how many torch threads a question gets on a shared machine.
- `heldout`: fits the confidence and the threshold on held-out articles, through retrieval.
- `weights`: the shipped weights, their sha256 check and model card.
- Training (`qa train-reader`): `squad` reads SQuAD-format files, `cross_training`
  fine-tunes, `run` trains, calibrates and writes the weights with a summary.

The reader answers through `qa.answer.answering`. The first reader, a small head over the
token vectors the index stored, lost to this one on every set (model card) and was removed
on 2026-12-05; the hand-tuned extractor that answered before both, and the token vectors,
went later that day. All are in the history.
"""
