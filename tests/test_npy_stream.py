"""Streamed .npy files: what is appended block by block is what np.load reads back."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from qa.index.npy_stream import NpyAppender, NpyRows


@settings(max_examples=30, deadline=None)
@given(
    blocks=st.lists(st.integers(0, 40), max_size=6),
    dtype=st.sampled_from([np.float16, np.float32, np.int64, np.int32]),
    columns=st.integers(1, 5),
    data=st.data(),
)
def test_appended_blocks_read_back_whole_and_by_range(tmp_path_factory, blocks, dtype, columns, data):
    path = tmp_path_factory.mktemp("npy") / "a.npy"
    rng = np.random.default_rng(len(blocks))
    parts = [(rng.standard_normal((n, columns)) * 100).astype(dtype) for n in blocks]
    with NpyAppender(path, dtype, columns) as out:
        for part in parts:
            out.append(part)
    whole = np.concatenate(parts) if parts else np.zeros((0, columns), dtype)
    loaded = np.load(path, allow_pickle=False)
    assert loaded.dtype == np.dtype(dtype) and np.array_equal(loaded, whole)
    start = data.draw(st.integers(0, len(whole)))
    stop = data.draw(st.integers(start, len(whole)))
    with NpyRows(path) as rows:
        assert len(rows) == len(whole)
        assert np.array_equal(rows.read(start, stop), whole[start:stop])
        blocks_read = list(rows.blocks(start, stop, rows=7))
        assert all(len(b) <= 7 for b in blocks_read)
        assert np.array_equal(np.concatenate(blocks_read or [whole[:0]]), whole[start:stop])


def test_rows_of_the_wrong_shape_are_refused(tmp_path):
    import pytest

    with NpyAppender(tmp_path / "a.npy", np.float32, 3) as out, pytest.raises(ValueError):
        out.append(np.zeros((2, 4), np.float32))
