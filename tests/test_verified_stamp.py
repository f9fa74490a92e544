"""The model is hashed once; later processes trust it only while its files are untouched."""

from __future__ import annotations

import shutil

import pytest

from qa.errors import ModelUnavailableError
from qa.index import manifest
from qa.index.embedding import bundled_model_path, verify_model_files


@pytest.fixture
def model_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    target = tmp_path / "model"
    shutil.copytree(bundled_model_path(), target)
    return target


@pytest.fixture
def hashed(monkeypatch):
    """The names of the files hashed since the test began."""
    names: list[str] = []
    real = manifest.sha256_file

    def counting(path):
        names.append(str(path).rsplit("/", 1)[-1])
        return real(path)

    monkeypatch.setattr(manifest, "sha256_file", counting)
    return names


def test_a_verified_model_is_not_hashed_again(model_copy, hashed):
    verify_model_files(str(model_copy))
    assert "model.safetensors" in hashed
    hashed.clear()
    verify_model_files(str(model_copy))
    assert hashed == []


def test_a_file_changed_after_the_check_is_hashed_again_and_refused(model_copy, hashed):
    verify_model_files(str(model_copy))
    weights = model_copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[1000] ^= 0xFF  # same size; the mtime may even be the same
    weights.write_bytes(bytes(data))
    hashed.clear()
    with pytest.raises(ModelUnavailableError, match="not the one qa was built for"):
        verify_model_files(str(model_copy))
    assert "model.safetensors" in hashed
    with pytest.raises(ModelUnavailableError):  # and no stamp was left for the damaged file
        verify_model_files(str(model_copy))


def test_new_pins_are_checked_in_full(model_copy, hashed):
    from qa.index.embedding import MODEL_SHA256

    verify_model_files(str(model_copy))
    hashed.clear()
    with pytest.raises(ModelUnavailableError):
        verify_model_files(str(model_copy), {**MODEL_SHA256, "vocab.txt": "0" * 64})


def test_an_unwritable_cache_only_costs_the_hashing(model_copy, hashed, monkeypatch, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    verify_model_files(str(model_copy))
    hashed.clear()
    verify_model_files(str(model_copy))
    assert "model.safetensors" in hashed
