"""BM25 read back with NumPy alone scores exactly as bm25s does."""

from __future__ import annotations

import json

import bm25s
import numpy as np
import pytest
from bm25s.stopwords import STOPWORDS_EN

from qa.errors import IndexCorruptError
from qa.index.lexical import BM25_DIR, STOP_WORDS, LexicalIndex, terms, tokenize
from tests.conftest import SUPERBOWL_SOURCES

PARAGRAPHS = [p for p in (SUPERBOWL_SOURCES / "Super_Bowl_50.txt").read_text().split("\n\n") if p.strip()]
QUESTIONS = [
    json.loads(line)["question"]
    for line in (SUPERBOWL_SOURCES.parent / "questions.jsonl").read_text().splitlines()[:300]
    if line
]


def test_the_stop_words_are_bm25s_own():
    assert STOP_WORDS == frozenset(STOPWORDS_EN)


def test_saved_scores_equal_bm25s_to_the_bit(tmp_path):
    LexicalIndex.build(PARAGRAPHS).save(tmp_path)
    loaded = LexicalIndex.load(tmp_path, len(PARAGRAPHS))
    reference = bm25s.BM25.load(str(tmp_path / BM25_DIR), allow_pickle=False)
    queries = [*QUESTIONS, "Super Bowl Super Bowl", "the of and", "zzzunknownword", ""]
    for query in queries:
        ids = reference.get_tokens_ids(terms(query))
        expected = reference.get_scores(ids) if ids else np.zeros(len(PARAGRAPHS), np.float32)
        got = loaded.scores(query)
        assert got.dtype == np.float32 and got.shape == (len(PARAGRAPHS),)
        np.testing.assert_array_equal(got, expected, err_msg=query)
    assert sum(bool(loaded.scores(q).any()) for q in QUESTIONS) > 250  # the check compared real scores


def test_a_fresh_build_scores_as_its_saved_copy(tmp_path):
    built = LexicalIndex.build(PARAGRAPHS)
    built.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path, len(PARAGRAPHS))
    for query in QUESTIONS[:50]:
        np.testing.assert_array_equal(built.scores(query), loaded.scores(query))


def test_an_all_stop_word_corpus_and_an_empty_one_score_zero(tmp_path):
    (tmp_path / "a").mkdir()
    LexicalIndex.build(["the of and", "it is"]).save(tmp_path / "a")
    assert LexicalIndex.load(tmp_path / "a", 2).scores("what is it").tolist() == [0.0, 0.0]
    (tmp_path / "b").mkdir()
    LexicalIndex.build([]).save(tmp_path / "b")
    assert LexicalIndex.load(tmp_path / "b", 0).scores("anything").shape == (0,)


@pytest.mark.parametrize("damage", ["params", "vocab", "method", "documents"])
def test_a_damaged_or_foreign_bm25_is_refused(tmp_path, damage):
    LexicalIndex.build(PARAGRAPHS).save(tmp_path)
    folder = tmp_path / BM25_DIR
    params = json.loads((folder / "params.index.json").read_text())
    if damage == "params":
        (folder / "params.index.json").unlink()
    elif damage == "vocab":
        (folder / "vocab.index.json").write_text('{"super": 999999}')  # a column the matrix lacks
    elif damage == "method":
        (folder / "params.index.json").write_text(json.dumps({**params, "method": "bm25+"}))
    else:
        (folder / "params.index.json").write_text(json.dumps({**params, "num_docs": 3}))
    with pytest.raises(IndexCorruptError, match="qa index --rebuild"):
        LexicalIndex.load(tmp_path, len(PARAGRAPHS))


def test_tokenize_is_terms_of_each_text():
    assert tokenize(["Withdrawing the troops", "a"]) == [terms("Withdrawing the troops"), []]
