"""The manifest: what a saved index is, and the checks that it still is that.

A manifest records the format version, the package version, the model (id, dimension,
window), the chunking settings, every source file (size, mtime, sha256, kind, counts) and
every artifact file (bytes, sha256). Loading refuses an index that another model, format
or chunking produced, and one whose files no longer match their recorded hashes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qa import __version__
from qa.config import TIKTOKEN_ENCODING, IndexSettings
from qa.errors import IndexCorruptError, IndexIncompatibleError

FORMAT_VERSION = 2  # 2: token vectors
MANIFEST = "manifest.json"
REBUILD_HINT = "run `qa index --rebuild`"

# Settings that change what is stored; the HNSW threshold and file size limit do not.
CHUNKING_KEYS = ("chunk_tokens", "min_chunk_tokens", "overlap_sentences", "max_word_pieces", "token_vectors")


@dataclass(frozen=True, slots=True)
class FileEntry:
    source: str
    size: int
    mtime: float
    sha256: str
    kind: str
    chunks: int
    sentences: int


def chunking_settings(settings: IndexSettings) -> dict[str, Any]:
    out = {k: getattr(settings, k) for k in CHUNKING_KEYS}
    out["tokenizer"] = TIKTOKEN_ENCODING
    return out


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def artifact_entries(generation: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """Size and sha256 of each artifact, files inside sub-folders included."""
    out = {}
    for name in names:
        path = generation / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            rel = file.relative_to(generation).as_posix()
            out[rel] = {"bytes": file.stat().st_size, "sha256": sha256_file(file)}
    return out


def write_manifest(generation: Path, manifest: dict[str, Any]) -> None:
    (generation / MANIFEST).write_text(
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def make_manifest(
    *,
    settings: IndexSettings,
    model_id: str,
    dim: int,
    max_word_pieces: int,
    sources_dir: Path,
    files: list[FileEntry],
    skipped: list[dict[str, str]],
    store_kind: str,
    counts: dict[str, int],
    artifacts: dict[str, dict[str, Any]],
    built_at: str,
) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "qa_version": __version__,
        "built_at": built_at,
        "model": {"id": model_id, "dim": dim, "max_word_pieces": max_word_pieces},
        "chunking": chunking_settings(settings),
        "store": {"kind": store_kind},
        "sources_dir": str(sources_dir),
        "counts": counts,
        "files": {f.source: asdict(f) for f in files},
        "skipped": skipped,
        "artifacts": artifacts,
    }


def read_manifest(generation: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((generation / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"the index {generation.parent} has no manifest: {REBUILD_HINT}") from exc
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(
            f"the manifest of the index {generation.parent} cannot be read ({exc}): {REBUILD_HINT}"
        ) from exc
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"the manifest of the index {generation.parent} is not an object: {REBUILD_HINT}")
    return manifest


def check_compatible(
    manifest: dict[str, Any], *, model_id: str, dim: int, settings: IndexSettings, where: Path
) -> None:
    """Raise IndexIncompatibleError unless this code, model and chunking made the index."""
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexIncompatibleError(
            f"the index {where} has format version {version}, this qa reads version "
            f"{FORMAT_VERSION}: {REBUILD_HINT}"
        )
    model = manifest.get("model") or {}
    if model.get("id") != model_id or model.get("dim") != dim:
        raise IndexIncompatibleError(
            f"the index {where} was built with {model.get('id')} ({model.get('dim')} dims) "
            f"but the model now is {model_id} ({dim} dims): {REBUILD_HINT}"
        )
    saved = manifest.get("chunking")
    wanted = chunking_settings(settings)
    if saved != wanted:
        raise IndexIncompatibleError(
            f"the index {where} was chunked with other settings ({saved}, now {wanted}): "
            f"{REBUILD_HINT}"
        )


def verify_artifacts(generation: Path, manifest: dict[str, Any]) -> None:
    """Every artifact the manifest lists exists with its recorded size and hash."""
    artifacts = manifest.get("artifacts")
    if not isinstance(artifacts, dict) or not artifacts:
        raise IndexCorruptError(f"the manifest of the index {generation.parent} lists no files: {REBUILD_HINT}")
    for name, entry in artifacts.items():
        path = generation / name
        if not path.is_file():
            raise IndexCorruptError(f"the index file {path} is missing: {REBUILD_HINT}")
        if path.stat().st_size != entry.get("bytes") or sha256_file(path) != entry.get("sha256"):
            raise IndexCorruptError(
                f"the index file {path} does not match its manifest (damaged or edited): {REBUILD_HINT}"
            )
