"""Answer: question -> passages -> a verbatim span with its citation, or an abstention.

Hybrid retrieval (dense + BM25), the kind of answer a question asks for, late interaction
between the question's and the chunk's token vectors, the extractive answerer that picks
the sentence and the span, and how an answer is quoted and written as a predictions line.
The trained reader (`qa.reader`) is the other answerer and stays a package of its own.
"""
