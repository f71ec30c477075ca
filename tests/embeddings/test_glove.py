"""GloVe: exact co-occurrence counts under a small memory budget; AdaGrad reduces the loss."""

from __future__ import annotations

import sys
from collections import defaultdict

import numpy as np
import pytest

from dlcourse.embeddings import GloVe, KeyedVectors, count_cooccurrences
from dlcourse.errors import ConfigError, NotFittedError


def _brute_force(sentences, key_to_index, window):
    counts = defaultdict(float)
    for sentence in sentences:
        ids = [key_to_index[w] for w in sentence if w in key_to_index]
        for p, w in enumerate(ids):
            for q in range(max(0, p - window), p):
                counts[(min(w, ids[q]), max(w, ids[q]))] += 1.0 / (p - q)
    return counts


def test_cooccurrence_counts_exact_with_tiny_buffer(lee_sentences):
    sentences = lee_sentences[:40]
    vocab = sorted({w for s in sentences for w in s})
    key_to_index = {w: i for i, w in enumerate(vocab)}
    # memory_mb=1 forces many sort-and-merge flushes over this corpus
    rows, cols, vals = count_cooccurrences(sentences, key_to_index, window=4, memory_mb=1)
    expected = _brute_force(sentences, key_to_index, 4)
    assert len(vals) == len(expected)
    assert np.all(rows <= cols)
    got = {(int(r), int(c)): float(v) for r, c, v in zip(rows, cols, vals)}
    for pair, value in expected.items():
        assert got[pair] == pytest.approx(value, rel=1e-5)


def test_glove_learns_and_saves(lee_sentences, tmp_path):
    model = GloVe(vector_size=30, window=8, min_count=3, epochs=12, seed=0,
                  workers=2).fit(lee_sentences)
    losses = [h["loss"] for h in model.history_]
    assert losses[-1] < 0.6 * losses[0]
    assert model.timings_["count_seconds"] > 0 and model.cooccurrences_ > 10000
    model.save(tmp_path)
    back = KeyedVectors.load(tmp_path)
    np.testing.assert_array_equal(back.vectors, model.wv.vectors)
    loaded = GloVe.load(tmp_path)  # the trainer too (it had no load before)
    np.testing.assert_array_equal(loaded.wv.vectors, model.wv.vectors)
    np.testing.assert_array_equal(loaded.counts_, model.counts_)
    assert loaded.config == model.config and loaded.history_ == model.history_
    assert loaded.cooccurrences_ == model.cooccurrences_ and loaded.timings_ == model.timings_


def test_same_seed_same_vectors(lee_sentences):
    kw = dict(vector_size=8, min_count=3, epochs=2, workers=1)
    a = GloVe(seed=1, **kw).fit(lee_sentences[:50]).wv.vectors
    b = GloVe(seed=1, **kw).fit(lee_sentences[:50]).wv.vectors
    np.testing.assert_array_equal(a, b)


def test_bad_parameters(lee_sentences):
    with pytest.raises(ConfigError, match="x_max must be > 0"):
        GloVe(x_max=0).fit(lee_sentences[:5])
    for name in ("eta", "alpha"):
        with pytest.raises(ConfigError, match=f"{name} must be > 0"):
            GloVe(**{name: 0.0}).validated_config()
    with pytest.raises(ConfigError, match="window must be >= 1"):
        GloVe(window=0).validated_config()
    with pytest.raises(ConfigError, match="blocks must be >= 1"):
        GloVe(blocks=0).validated_config()
    with pytest.raises(NotFittedError):
        _ = GloVe().wv


def test_counts_are_the_same_bits_for_any_buffer(lee_sentences):
    # integer fixed-point sums: no dependence on the order of the flushes and merges
    vocab = sorted({w for s in lee_sentences[:60] for w in s})
    key_to_index = {w: i for i, w in enumerate(vocab)}
    small = count_cooccurrences(lee_sentences[:60], key_to_index, window=6, memory_mb=1)
    large = count_cooccurrences(lee_sentences[:60], key_to_index, window=6, memory_mb=64)
    for a, b in zip(small, large):
        np.testing.assert_array_equal(a, b)


def test_block_schedule_gives_the_same_vectors_on_any_number_of_threads(lee_sentences):
    # the P blocks of a round share no rows, so threads (or ranks) cannot change the result
    kw = dict(vector_size=8, min_count=3, epochs=2, seed=3, blocks=4)
    one = GloVe(workers=1, **kw).fit(lee_sentences[:80])
    two = GloVe(workers=2, **kw).fit(lee_sentences[:80])
    np.testing.assert_array_equal(one.wv.vectors, two.wv.vectors)
    assert [h["loss"] for h in one.history_] == [h["loss"] for h in two.history_]


def test_cached_and_streamed_corpora_give_the_same_vectors(lee_sentences, tmp_path, monkeypatch):
    # one process keeps the encoded corpus (one pass); above CACHE_TOKENS it streams the file
    # through count_cooccurrences: the counts are exact integers, so the vectors are the same
    from dlcourse.embeddings import glove

    path = tmp_path / "lee.txt"
    path.write_text("\n".join(" ".join(s) for s in lee_sentences[:80]), encoding="utf-8")
    kw = dict(vector_size=8, min_count=3, epochs=2, seed=3, blocks=2, workers=1)
    cached = GloVe(**kw).fit(lee_sentences[:80])
    monkeypatch.setattr(glove, "CACHE_TOKENS", 0)
    streamed = GloVe(**kw).fit(path)
    assert streamed.wv.index_to_key == cached.wv.index_to_key
    np.testing.assert_array_equal(streamed.wv.vectors, cached.wv.vectors)


def test_training_needs_no_torch(lee_sentences, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises
    model = GloVe(vector_size=8, min_count=3, epochs=1, workers=2).fit(lee_sentences[:40])
    assert len(model.wv) > 50 and np.isfinite(model.wv.vectors).all()


def test_count_cooccurrences_and_spearman_refuse_bad_arguments():
    from dlcourse.embeddings import spearman
    from dlcourse.errors import InputError

    sentences, vocab = [["a", "b", "c"], ["b", "c"]], {"a": 0, "b": 1, "c": 2}
    rows, cols, values = count_cooccurrences(sentences, vocab, window=1)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 2] and values.tolist() == [1.0, 2.0]
    for bad in (0, -2, 1.5):  # 0 divided by zero, -2 counted nothing
        with pytest.raises(InputError, match="window must be an integer >= 1"):
            count_cooccurrences(sentences, vocab, window=bad)
    assert spearman([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    with pytest.raises(InputError, match="got 3 and 2 numbers"):
        spearman([1, 2, 3], [1, 2])
