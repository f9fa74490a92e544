"""The trained reader: scores answer spans and "no answer" in retrieved passages.

- `cross_encoder`: the shipped reader, the bundled MiniLM fine-tuned to read the question
  and a passage together; `cross_training` fine-tunes it (`qa train-reader`).
- `answering`: answers a question from retrieved passages with either reader.
- `heldout`: fits the confidence and the threshold on held-out articles, through retrieval.
- `weights`: the shipped weights, their sha256 check and model card.

The first reader, a small head over the token vectors the index stores (`qa train-reader
--kind head`):
- `squad`: reads SQuAD-format training files.
- `features`: encodes training passages and questions with the bundled model, exactly as
  the index and a question are encoded, and caches the token vectors on disk.
- `model`: the reader network (PyTorch, used for training).
- `training`: the training loop behind `qa train-reader`.
- `inference`: the same network in NumPy, run at question time.
"""
