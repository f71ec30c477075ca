"""A second ``train`` continues from the trained vectors, as gensim's does, when the vocabulary
is the same; with another vocabulary it starts from new vectors and warns; ``fit`` always
starts afresh. On the Lee corpus (conftest), with one worker so that runs are reproducible."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dlcourse.embeddings import Word2Vec
from dlcourse.embeddings.word2vec import initial_weights
from dlcourse.errors import TrainingInterrupted

SETTINGS = dict(method="skipgram", vector_size=50, min_count=2, seed=1, workers=1)


def _train(model, sentences, epochs: int = 3) -> None:
    """gensim's tutorial call, with every warning an error (a continued train warns none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.train(sentences, total_examples=model.corpus_count, epochs=epochs)


def _ours(sentences, **settings) -> Word2Vec:
    model = Word2Vec(**{**SETTINGS, **settings})
    model.build_vocab(sentences)
    return model


def _row_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The mean cosine of a's and b's rows: how far each word's vector turned."""
    dots = np.sum(a * b, axis=1)
    return float(np.mean(dots / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)))


def _rank(kv, word: str, other: str) -> int:
    """Where ``other`` stands among ``word``'s neighbours (0: the nearest)."""
    neighbours = [w for w, _ in kv.most_similar(word, topn=len(kv.index_to_key) - 1)]
    return neighbours.index(other)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_a_second_train_goes_on_from_the_first(lee_sentences, backend):
    if backend == "torch":
        pytest.importorskip("torch")
    model = _ours(lee_sentences, backend=backend)
    _train(model, lee_sentences)
    first, first_out = model.wv.vectors.copy(), model.syn1neg_.copy()
    first_losses = [h["loss"] for h in model.history_]
    fresh = Word2Vec(**SETTINGS, backend=backend, epochs=3).fit(lee_sentences)
    np.testing.assert_array_equal(first, fresh.wv.vectors)  # a first train is a fit
    _train(model, lee_sentences)
    second = model.wv.vectors
    assert not np.allclose(first, second) and not np.allclose(first_out, model.syn1neg_)
    # from the first train's vectors, not from a new random start: much nearer to them than
    # the start is, and each word's vector turned a little, not to an unrelated direction
    start = initial_weights(*first.shape, SETTINGS["seed"])[0]
    assert np.linalg.norm(second - first) < 0.75 * np.linalg.norm(start - first)
    assert _row_cosine(first, second) > 0.8 > 0.2 > _row_cosine(first, start)
    # the loss goes on falling: a fresh start's first epoch is far worse than this one's
    assert len(model.history_) == 3  # this call's epochs (gensim's train counts per call too)
    assert model.history_[0]["loss"] < first_losses[0]
    assert model.history_[0]["loss"] < first_losses[-1] + 0.05


def test_continuing_brings_a_frequent_pair_closer(lee_sentences):
    """'war' and 'terrorism' (gensim's calibrated Lee pair): 'terrorism' climbs among the
    neighbours of 'war' call after call, into the nearest 50 the Lee test asks of a full run,
    while their similarity stays a plausible cosine."""
    model = _ours(lee_sentences)
    ranks = []
    for _ in range(3):
        _train(model, lee_sentences)
        ranks.append(_rank(model.wv, "war", "terrorism"))
        assert 0.5 < model.wv.similarity("war", "terrorism") < 1.0
    assert ranks[1] < ranks[0] and ranks[2] <= ranks[1] + 5 and ranks[2] < 50, ranks


def test_continuing_behaves_as_gensims(lee_sentences):
    """The same two calls in gensim and here: both move the vectors by about as much, keep
    each word's direction, and bring 'terrorism' nearer to 'war'."""
    gensim_models = pytest.importorskip("gensim.models")
    ref = gensim_models.Word2Vec(sg=1, vector_size=50, min_count=2, seed=1, workers=1)
    ref.build_vocab(lee_sentences)
    ours = _ours(lee_sentences)
    moves, turns = {}, {}
    for name, model in (("gensim", ref), ("ours", ours)):
        model.train(lee_sentences, total_examples=model.corpus_count, epochs=3)
        first, rank = model.wv.vectors.copy(), _rank(model.wv, "war", "terrorism")
        model.train(lee_sentences, total_examples=model.corpus_count, epochs=3)
        assert _rank(model.wv, "war", "terrorism") < rank, name
        moves[name] = np.linalg.norm(model.wv.vectors - first) / np.linalg.norm(first)
        turns[name] = _row_cosine(first, model.wv.vectors)
    assert 0.6 < moves["ours"] / moves["gensim"] < 1.6, moves
    assert abs(turns["ours"] - turns["gensim"]) < 0.1, turns


def test_a_changed_vocabulary_restarts_and_warns(lee_sentences):
    """Other text gives another vocabulary: the old rows would mean other words, so train
    starts from new vectors (those a fit gives) and says why, on one line."""
    model = _ours(lee_sentences[:150])
    _train(model, lee_sentences[:150])
    model.build_vocab(lee_sentences)
    with pytest.warns(UserWarning, match="restarted from new random vectors because the "
                                         "vocabulary differs") as caught:
        model.train(lee_sentences, total_examples=model.corpus_count, epochs=3)
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert "words new" in str(caught[0].message)
    fresh = Word2Vec(**SETTINGS, epochs=3).fit(lee_sentences)
    np.testing.assert_array_equal(model.wv.vectors, fresh.wv.vectors)
    _train(model, lee_sentences)  # the vocabulary now matches: continues, no warning


def test_the_same_words_in_another_order_or_size_restart():
    """Rows follow the words' frequency: counts that reorder them change the vocabulary; so
    does another vector_size."""
    model = Word2Vec(vector_size=4, min_count=1, workers=1, seed=0)
    model.train([["a", "a", "b"]] * 20, epochs=1)
    with pytest.warns(UserWarning, match="same words, in another order"):
        model.train([["a", "b", "b"]] * 20, epochs=1)
    assert model.wv.index_to_key == ["b", "a"]
    model.set_params(vector_size=6)
    with pytest.warns(UserWarning, match=r"vector size differs \(6 now, 4 before\)"):
        model.train([["a", "b", "b"]] * 20, epochs=1)
    assert model.wv.vectors.shape == (2, 6)


def test_fit_still_starts_afresh(lee_sentences):
    sentences = lee_sentences[:100]
    model = Word2Vec(**SETTINGS, epochs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = model.fit(sentences).wv.vectors.copy()
        np.testing.assert_array_equal(model.fit(sentences).wv.vectors, first)
        model.train(sentences)  # continues ...
        assert not np.allclose(model.wv.vectors, first)
        # ... and a fit after it is the first fit again, random draws included
        np.testing.assert_array_equal(model.fit(sentences).wv.vectors, first)


def test_a_loaded_model_continues(lee_sentences, tmp_path):
    sentences = lee_sentences[:100]
    model = Word2Vec(**SETTINGS, epochs=2).fit(sentences)
    model.save(tmp_path)
    loaded = Word2Vec.load(tmp_path)
    _train(model, sentences, epochs=2)
    _train(loaded, sentences, epochs=2)
    np.testing.assert_array_equal(loaded.wv.vectors, model.wv.vectors)
    np.testing.assert_array_equal(loaded.syn1neg_, model.syn1neg_)


def test_a_stopped_train_leaves_the_vectors_as_they_were(lee_sentences, monkeypatch):
    """The trainers update their arrays in place: a continued call works on copies, so Ctrl-C
    midway keeps the model of the last call whole."""
    model = Word2Vec(**SETTINGS, epochs=2).fit(lee_sentences[:100])
    vectors, out = model.wv.vectors.copy(), model.syn1neg_.copy()
    monkeypatch.setenv("DLCOURSE_INTERRUPT_AFTER", "1")
    with pytest.raises(TrainingInterrupted):
        model.train(lee_sentences[:100])
    np.testing.assert_array_equal(model.wv.vectors, vectors)
    np.testing.assert_array_equal(model.syn1neg_, out)


def test_continued_calls_draw_other_random_numbers(lee_sentences, monkeypatch):
    """Each continued call seeds its epochs anew (gensim's generator runs on between calls),
    so it does not repeat the last call's subsampling and noise words; a fit takes its seeds
    again."""
    from dlcourse.embeddings.word2vec_cpu import NumbaTrainer

    seeds = []
    train_epoch = NumbaTrainer.train_epoch

    def recording(self, blocks, seed, *args):
        seeds.append(seed)
        return train_epoch(self, blocks, seed, *args)

    monkeypatch.setattr(NumbaTrainer, "train_epoch", recording)
    sentences = lee_sentences[:100]
    model = Word2Vec(**SETTINGS, epochs=2).fit(sentences)
    _train(model, sentences, epochs=2)
    _train(model, sentences, epochs=2)
    model.fit(sentences)
    assert len(set(seeds[:6])) == 6 and seeds[6:] == seeds[:2], seeds
