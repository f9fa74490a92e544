"""Ingest: a sources folder -> `Document`s -> sentences and token-bounded `Chunk`s.

Each file is read (text, PDF, or an HTML page's main content), its boilerplate set
aside as spans to skip (never rewritten), and its kept text cut into sentences and
chunks that are exact character spans of the file, with one `Skipped` (and its reason)
per file left out. Nothing here knows about vectors or saved indexes.
"""
