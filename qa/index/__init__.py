"""Index: chunks -> vectors and BM25 in a saved, self-describing index, and loading it back.

The embedding seam (chunks and questions into vectors, and what checks the model), the
vector store seam over FAISS, the lexical BM25 half, and the index folder on disk: generations
written atomically under a lock, the manifest that describes and checks them, and the
loaded index that retrieval and answering read.
"""
