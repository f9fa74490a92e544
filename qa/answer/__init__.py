"""Answer: question -> passages -> a verbatim span with its citation, or an abstention.

- `retrieval`: hybrid retrieval (dense + BM25) of the passages to read.
- `answering`: the trained reader (`qa.reader`) reads them; the best span is the answer,
  or the pipeline abstains (two-step reading, alternatives, "also in").
- `citation`, `abstention`: where an answer stands in its file; why there is none.
- `quoting`, `predictions`: how an answer is quoted and written as a predictions line.
"""
