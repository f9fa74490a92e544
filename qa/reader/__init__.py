"""The trained reader: scores answer spans and "no answer" in retrieved passages.

- `squad`: reads SQuAD-format training files.
- `features`: encodes training passages and questions with the bundled model, exactly as
  the index and a question are encoded, and caches the token vectors on disk.
- `model`: the reader network (PyTorch, used for training).
- `training`: the training loop behind `qa train-reader`.
- `weights`: the shipped weights, their sha256 check and model card.
- `inference`: the same network in NumPy, run at question time.
"""
