"""The trained reader's weights and decoding: the shipped weights are verified and
described, a reader of a removed kind is refused, spans decode within bounds."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from hypothesis import given, strategies as st

from qa.reader.decoding import MAX_ANSWER_TOKENS, best_spans
from qa.reader.weights import ReaderWeightsError, load_reader, open_reader


def test_the_shipped_weights_are_verified(tmp_path):
    from qa.reader import weights as module

    shipped = module.SHIPPED_DIR
    assert module.SHIPPED_SHA256 and load_reader().sha256 == module.SHIPPED_SHA256
    damaged = tmp_path / "damaged"
    shutil.copytree(shipped, damaged)
    data = bytearray((damaged / module.WEIGHTS_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (damaged / module.WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(ReaderWeightsError, match="does not match its sha256"):
        load_reader(damaged)
    (damaged / module.WEIGHTS_FILE).unlink()
    with pytest.raises(ReaderWeightsError, match="no reader weights"):
        load_reader(damaged)


def test_the_removed_extractor_is_a_clear_error_before_anything_is_built(tmp_path, capsys):
    from qa.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["ask", "Who?", "--sources", str(tmp_path), "--index", str(tmp_path / "idx"), "--reader", "extractor"])
    assert exited.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "drop `--reader extractor`" in err
    assert not (tmp_path / "idx").exists()
    for command in (["tui"], ["serve"]):  # before any UI or server starts
        with pytest.raises(SystemExit) as exited:
            main([*command, "--sources", str(tmp_path), "--reader", "extractor"])
        assert exited.value.code == 1 and "drop `--reader extractor`" in capsys.readouterr().err


def test_the_shipped_weights_are_small_and_described():
    from qa.reader import weights as module

    assert (module.SHIPPED_DIR / module.WEIGHTS_FILE).stat().st_size <= 40 * 1024 * 1024
    card = (module.SHIPPED_DIR / "MODEL_CARD.md").read_text()
    for needed in ("CC BY-SA 4.0", "qa train-reader", "seed", "SQuAD"):
        assert needed in card
    assert open_reader().calibration.scale > 0  # a larger margin means more confidence


@given(
    st.lists(st.floats(-20, 20), min_size=1, max_size=60),
    st.integers(0, 10**6),
    st.integers(1, 8),
)
def test_best_spans_are_ordered_within_bounds_and_best_first(start, seed, k):
    n = len(start)
    end = np.random.default_rng(seed).normal(size=n) * 5
    spans = best_spans(np.array(start), end, np.array([0.5, -0.25]), k)
    assert 1 <= len(spans) <= k
    scores = [s.span for s in spans]
    assert scores == sorted(scores, reverse=True)
    for s in spans:
        assert 0 <= s.start <= s.end < min(n, s.start + MAX_ANSWER_TOKENS)
        assert s.span == pytest.approx(start[s.start] + end[s.end])
        assert s.no_answer == pytest.approx(0.25)
    brute = max(start[i] + end[j] for i in range(n) for j in range(i, min(n, i + MAX_ANSWER_TOKENS)))
    assert spans[0].span == pytest.approx(brute)


@given(st.lists(st.floats(-20, 20), min_size=2, max_size=40), st.integers(0, 10**6))
def test_best_spans_stay_inside_one_paragraph(start, seed):
    n = len(start)
    rng = np.random.default_rng(seed)
    end = rng.normal(size=n) * 5
    blocks = np.sort(rng.integers(0, 3, size=n))
    for s in best_spans(np.array(start), end, np.array([0.0, 0.0]), 8, blocks):
        assert blocks[s.start] == blocks[s.end]
    brute = max(
        (start[i] + end[j] for i in range(n) for j in range(i, min(n, i + MAX_ANSWER_TOKENS)) if blocks[i] == blocks[j])
    )
    assert best_spans(np.array(start), end, np.array([0.0, 0.0]), 1, blocks)[0].span == pytest.approx(brute)


def test_paragraph_blocks_number_tokens_by_blank_lines():
    from qa.reader.decoding import paragraph_blocks

    text = "Title 2025\n\nRussia will go.\nWrapped line.\n \xa0\r\nLast"
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    blocks = paragraph_blocks(text, np.array(words))
    assert blocks.tolist() == [0, 0, 1, 1, 1, 1, 1, 2]  # a single newline stays inside a paragraph


@pytest.mark.parametrize(
    "kind, message",
    [
        ("head", "'head' reader, which this qa no longer reads: use the shipped reader, or train one"),
        (None, "'head' reader, which this qa no longer reads"),  # the head reader's files did not say
        ("bi-encoder", "unknown kind 'bi-encoder': upgrade qa, or retrain it"),  # a later qa's, say
    ],
)
def test_a_reader_of_another_kind_is_refused_with_what_to_do(tmp_path, kind, message):
    from qa.reader import weights as module

    folder = tmp_path / "other"
    shutil.copytree(module.SHIPPED_DIR, folder)
    meta = json.loads((folder / module.META_FILE).read_text())
    meta.pop("kind")
    if kind:
        meta["kind"] = kind
    (folder / module.META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ReaderWeightsError, match=message):
        load_reader(folder)
