"""The manifest: what a saved index is, and the checks that it still is that.

A manifest records the format version, the package version, the model (id, dimension,
window, sha256 of its files), the chunking settings, every source file (size, mtime,
sha256, kind, counts) and every artifact file (bytes, sha256). Loading refuses a manifest
that does not hash to what `CURRENT` recorded or does not match the schema below, an index
that another model, format or chunking produced, and one whose files are not exactly the
listed ones with their recorded hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from qa import __version__
from qa.config import TIKTOKEN_ENCODING, IndexSettings
from qa.errors import IndexCorruptError, IndexIncompatibleError
from qa.schema import Hex64, Integer, ListOf, MapOf, Obj, SchemaError, validate

# 2: token vectors. 3: the manifest's sha256 in CURRENT, the model files' sha256, the size
# and mtime of skipped files. 4: the sentences' words and IDF (qa/index/lexical.py), the mtime of
# every artifact (checked on open instead of hashing everything). 5: no token vectors and no
# sentence words (the hand-tuned extractor that read them is gone): 14-16x smaller.
FORMAT_VERSION = 5
MANIFEST = "manifest.json"
REBUILD_HINT = "run `qa index --rebuild`"

# Settings that change what is stored; the HNSW threshold and file size limit do not.
CHUNKING_KEYS = ("chunk_tokens", "min_chunk_tokens", "overlap_sentences", "max_word_pieces")

SCHEMA = Obj({
    "format_version": int,
    "qa_version": str,
    "built_at": str,
    "model": Obj({"id": str, "dim": Integer(1), "max_word_pieces": Integer(1), "sha256": MapOf(Hex64)}),
    "chunking": Obj({
        "chunk_tokens": Integer(1), "min_chunk_tokens": Integer(0), "overlap_sentences": Integer(0),
        "max_word_pieces": Integer(1), "tokenizer": str,
    }),
    "store": Obj({"kind": str}),
    "sources_dir": str,
    "counts": Obj({"files": Integer(0), "chunks": Integer(0), "sentences": Integer(0)}),
    "files": MapOf(Obj({
        "source": str, "size": Integer(0), "mtime": float, "sha256": Hex64, "kind": str,
        "chunks": Integer(0), "sentences": Integer(0),
    })),
    "skipped": ListOf(Obj({"source": str, "reason": str, "size": Integer(0), "mtime": float})),
    "artifacts": MapOf(Obj({"bytes": Integer(0), "mtime_ns": Integer(0), "sha256": Hex64})),
})


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
    """Size, mtime and sha256 of each artifact, files inside sub-folders included."""
    out = {}
    for name in names:
        path = generation / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            rel = file.relative_to(generation).as_posix()
            stat = file.stat()
            out[rel] = {"bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256_file(file)}
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
    model_sha256: dict[str, str],
    sources_dir: Path,
    files: list[FileEntry],
    skipped: list[dict[str, Any]],
    store_kind: str,
    counts: dict[str, int],
    artifacts: dict[str, dict[str, Any]],
    built_at: str,
) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "qa_version": __version__,
        "built_at": built_at,
        "model": {"id": model_id, "dim": dim, "max_word_pieces": max_word_pieces, "sha256": dict(model_sha256)},
        "chunking": chunking_settings(settings),
        "store": {"kind": store_kind},
        "sources_dir": str(sources_dir),
        "counts": counts,
        "files": {f.source: asdict(f) for f in files},
        "skipped": skipped,
        "artifacts": artifacts,
    }


def read_manifest(generation: Path, sha256: str) -> dict[str, Any]:
    """The manifest of `generation`, checked against the hash `CURRENT` recorded for it,
    its format version and the schema; typed errors name what is wrong."""
    where = generation.parent
    try:
        raw = (generation / MANIFEST).read_bytes()
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"the index {where} has no manifest: {REBUILD_HINT}") from exc
    except OSError as exc:
        raise IndexCorruptError(f"the manifest of the index {where} cannot be read ({exc}): {REBUILD_HINT}") from exc
    if hashlib.sha256(raw).hexdigest() != sha256:
        raise IndexCorruptError(
            f"the manifest of the index {where} does not match the hash in CURRENT (damaged or edited): {REBUILD_HINT}"
        )
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise IndexCorruptError(f"the manifest of the index {where} cannot be read ({exc}): {REBUILD_HINT}") from exc
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"the manifest of the index {where} is not an object: {REBUILD_HINT}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexIncompatibleError(
            f"the index {where} has format version {json.dumps(version)[:20]}, this qa reads version "
            f"{FORMAT_VERSION}: {REBUILD_HINT}"
        )
    try:
        validate(manifest, SCHEMA)
    except SchemaError as exc:
        raise IndexCorruptError(f"the manifest of the index {where} is invalid at {exc}: {REBUILD_HINT}") from exc
    return manifest


def check_compatible(
    manifest: dict[str, Any],
    *,
    model_id: str,
    dim: int,
    model_sha256: dict[str, str],
    settings: IndexSettings,
    where: Path,
) -> None:
    """Raise IndexIncompatibleError unless this model (down to its files) and chunking
    made the index. Call on a manifest from `read_manifest` (format and schema checked)."""
    model = manifest["model"]
    if model["id"] != model_id or model["dim"] != dim:
        raise IndexIncompatibleError(
            f"the index {where} was built with {model['id']} ({model['dim']} dims) "
            f"but the model now is {model_id} ({dim} dims): {REBUILD_HINT}"
        )
    if model["sha256"] != model_sha256:
        differ = sorted(set(model["sha256"].items()) ^ set(model_sha256.items()))
        raise IndexIncompatibleError(
            f"the index {where} was built with other files of {model_id} (differing: "
            f"{', '.join(sorted({name for name, _ in differ}))}): {REBUILD_HINT}"
        )
    saved = manifest["chunking"]
    wanted = chunking_settings(settings)
    if saved != wanted:
        raise IndexIncompatibleError(
            f"the index {where} was chunked with other settings ({saved}, now {wanted}): "
            f"{REBUILD_HINT}"
        )


def _inside(name: str) -> bool:
    """True for a relative path with no `..`, `.` or empty parts (cannot leave its folder)."""
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and "\\" not in name and all(
        part not in ("", ".", "..") for part in name.split("/")
    )


def _files_on_disk(generation: Path) -> set[str]:
    """Every entry of the generation that is not a folder, symlinks included (not followed)."""
    found = set()
    for folder, dirs, files in os.walk(generation):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            found.add(Path(folder, name).relative_to(generation).as_posix())
    return found


def verify_artifacts(
    generation: Path, manifest: dict[str, Any], required: Iterable[str], *, full: bool = True
) -> None:
    """The generation holds exactly the artifacts the manifest lists (plus the manifest),
    each a regular file inside it with its recorded size and hash, and lists every file in
    `required`: nothing is read unchecked, nothing outside the generation is opened.

    Without `full`, a file with its recorded size and mtime is taken as unchanged (hashing
    a 2 GB index took 2.7 s of every `qa ask`); one whose mtime moved (a copied index) is
    hashed. Builds and `--verify` hash everything."""
    where = generation.parent
    artifacts = manifest["artifacts"]
    for name in artifacts:
        if not _inside(name):
            raise IndexCorruptError(
                f"the manifest of the index {where} lists a file outside its folder ({json.dumps(name)[:80]}): {REBUILD_HINT}"
            )
    for name in required:
        if name not in artifacts:
            raise IndexCorruptError(f"the manifest of the index {where} does not list {name}: {REBUILD_HINT}")
    on_disk = _files_on_disk(generation) - {MANIFEST}
    unlisted = sorted(on_disk - set(artifacts))
    if unlisted:
        raise IndexCorruptError(
            f"the index file {generation / unlisted[0]} is not in the manifest (added or edited): {REBUILD_HINT}"
        )
    for name, entry in artifacts.items():
        path = generation / name
        if name not in on_disk:
            raise IndexCorruptError(f"the index file {path} is missing: {REBUILD_HINT}")
        if path.is_symlink() or not path.is_file():
            raise IndexCorruptError(f"the index file {path} is not a regular file: {REBUILD_HINT}")
        stat = path.stat()
        if stat.st_size != entry["bytes"] or (
            (full or stat.st_mtime_ns != entry["mtime_ns"]) and sha256_file(path) != entry["sha256"]
        ):
            raise IndexCorruptError(
                f"the index file {path} does not match its manifest (damaged or edited): {REBUILD_HINT}"
            )
