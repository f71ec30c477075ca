"""More of gensim 4's behaviour, checked against gensim itself on a tiny corpus: row numbers
``in`` the vectors, ``n_similarity`` with unknown words, what ``train`` returns, a second
``train`` and ``get_latest_training_loss``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dlcourse.embeddings import KeyedVectors, Word2Vec
from dlcourse.errors import InputError

gensim_models = pytest.importorskip("gensim.models")

SENTENCES = [["the", "cat", "sat", "on", "mat"], ["the", "dog", "sat", "on", "log"]] * 50
SETTINGS = dict(vector_size=8, min_count=1, workers=1, seed=1)


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(6)]
    vectors = rng.normal(size=(6, 4)).astype(np.float32)
    ref = gensim_models.KeyedVectors(4)
    ref.add_vectors(words, vectors)
    return KeyedVectors(words, vectors), ref


def _gensim_model(**settings) -> object:
    model = gensim_models.Word2Vec(**{**SETTINGS, **settings})
    model.build_vocab(SENTENCES)
    return model


def _ours(**settings) -> Word2Vec:
    model = Word2Vec(**{**SETTINGS, **settings})
    model.build_vocab(SENTENCES)
    return model


def test_row_numbers_are_in_the_vectors_as_in_gensim(pair):
    ours, ref = pair
    for key in (3, 0, 5, np.int64(2), True, 6, -1, 99, "3", 3.0, "w1", "zz"):
        assert (key in ours) == (key in ref), key
        assert ours.has_index_for(key) == ref.has_index_for(key), key
    assert 3 in ours and 6 not in ours and -1 not in ours


def test_n_similarity_skips_unknown_words_as_gensim_does(pair):
    ours, ref = pair
    for ws1, ws2 in ((["w1", "zz"], ["w2"]), (["w1", "w3", "qq"], ["w2", 4]),
                     (["zz"], ["w2"]), (["zz"], ["qq"])):
        assert ours.n_similarity(ws1, ws2) == pytest.approx(float(ref.n_similarity(ws1, ws2)),
                                                            abs=1e-6), (ws1, ws2)
    # no known word: a zero mean, cosine 0.0 in both (gensim 4.4 raises nothing here)
    assert ours.n_similarity(["zz"], ["w2"]) == 0.0
    for ws1, ws2 in (([], ["w1"]), (["w1"], [])):
        with pytest.raises(ZeroDivisionError):
            ref.n_similarity(ws1, ws2)
        with pytest.raises(ZeroDivisionError, match="at least one word"):
            ours.n_similarity(ws1, ws2)
        with pytest.raises(InputError):
            ours.n_similarity(ws1, ws2)


@pytest.mark.parametrize("extra", [dict(sample=0), dict(sample=0, min_count=60)])
def test_train_returns_gensims_counts_without_subsampling(extra):
    """With sample=0 (and words under min_count dropped) the counts are gensim's exactly."""
    ref, ours = _gensim_model(**extra), _ours(**extra)
    expected = ref.train(SENTENCES, total_examples=ref.corpus_count, epochs=3)
    got = ours.train(SENTENCES, total_examples=ours.corpus_count, epochs=3)
    assert got == tuple(expected)
    assert all(isinstance(n, int) for n in got)


def test_train_counts_words_before_subsampling():
    """gensim's first count drops subsampled words; ours cannot, and is the larger."""
    ref, ours = _gensim_model(sample=1e-3), _ours(sample=1e-3)
    trained, raw = ref.train(SENTENCES, total_examples=ref.corpus_count, epochs=2)
    assert ours.train(SENTENCES, total_examples=ours.corpus_count, epochs=2) == (1000, raw)
    assert trained < 1000 == raw


def test_a_second_train_continues_as_in_gensim():
    """gensim continues from the trained vectors, and so does ours, without a warning (the
    vocabulary is the same); tests/embeddings/test_train_continues.py checks it further."""
    ref = _gensim_model()
    ref.train(SENTENCES, total_examples=ref.corpus_count, epochs=2)
    first = ref.wv.vectors.copy()
    ref.train(SENTENCES, total_examples=ref.corpus_count, epochs=2)
    assert not np.allclose(first, ref.wv.vectors)  # gensim continued

    ours = _ours()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither train warns
        ours.train(SENTENCES, total_examples=ours.corpus_count, epochs=2)
        first = ours.wv.vectors.copy()
        ours.train(SENTENCES, total_examples=ours.corpus_count, epochs=2)
    assert not np.allclose(first, ours.wv.vectors)  # continued: not the first train again


def test_latest_training_loss_is_zero_unless_asked_as_in_gensim():
    ref, ours = _gensim_model(), _ours()
    assert ref.get_latest_training_loss() == 0 and ours.get_latest_training_loss() == 0.0
    ref.train(SENTENCES, total_examples=ref.corpus_count, epochs=2)
    ours.train(SENTENCES, total_examples=ours.corpus_count, epochs=2)
    assert ref.get_latest_training_loss() == 0.0 and ours.get_latest_training_loss() == 0.0
    ref.train(SENTENCES, total_examples=ref.corpus_count, epochs=2, compute_loss=True)
    ours.train(SENTENCES, total_examples=ours.corpus_count, epochs=2, compute_loss=True)
    assert ref.get_latest_training_loss() > 0
    # ours: the last epoch's mean per prediction (gensim's is a sum over the whole call)
    assert ours.get_latest_training_loss() == ours.history_[-1]["loss"] > 0
    ours.train(SENTENCES, total_examples=ours.corpus_count, epochs=2)
    assert ours.get_latest_training_loss() == 0.0


def test_weighted_queries_and_more_gensim_names_answer_as_gensim(pair):
    # a user probe: ("war", 2.0) was "not in the vocabulary", and these names were missing
    ours, ref = pair
    for positive, negative in (([("w0", 2.0), ("w1", 1.0)], None), (["w0", ("w1", 0.5)], ["w2"]),
                               ([("w0", 1.0)], [("w3", -2.0)])):
        got = ours.most_similar(positive=positive, negative=negative, topn=3)
        want = ref.most_similar(positive=positive, negative=negative, topn=3)
        assert [w for w, _ in got] == [w for w, _ in want]
        assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)
    got, want = ours.similar_by_key("w0", topn=3), ref.similar_by_key("w0", topn=3)
    assert [w for w, _ in got] == [w for w, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)
    assert ours.most_similar_to_given("w0", ["w1", "w2", "w3"]) == \
        ref.most_similar_to_given("w0", ["w1", "w2", "w3"])
    assert ours.relative_cosine_similarity("w0", "w1", topn=3) == pytest.approx(
        ref.relative_cosine_similarity("w0", "w1", topn=3), abs=1e-5)
    ref.fill_norms()
    ours.fill_norms()
    np.testing.assert_allclose(ours.norms, ref.norms, rtol=1e-6)
    assert ours.get_index("zzz", default=-1) == ref.get_index("zzz", default=-1) == -1
    assert ours.get_index("w2", default=-1) == 2
    with pytest.raises(InputError, match="needs at least one word in keys_list"):
        ours.most_similar_to_given("w0", [])


def test_the_trained_vectors_keep_each_words_count_as_gensim(tmp_path):
    # wv.get_vecattr(word, "count") was an AttributeError
    from collections import Counter

    from dlcourse.embeddings import GloVe

    counts = Counter(w for s in SENTENCES for w in s)
    ref = gensim_models.Word2Vec(SENTENCES, **SETTINGS)
    for model in (Word2Vec(**SETTINGS).fit(SENTENCES), GloVe(vector_size=8, min_count=1,
                                                             epochs=2).fit(SENTENCES)):
        wv = model.wv
        assert {w: wv.get_vecattr(w, "count") for w in counts} == dict(counts)
        if isinstance(model, Word2Vec):
            assert all(wv.get_vecattr(w, "count") == ref.wv.get_vecattr(w, "count")
                       for w in counts)
        model.save(tmp_path / type(model).__name__)
        for loaded in (type(model).load(tmp_path / type(model).__name__).wv,
                       KeyedVectors.load(tmp_path / type(model).__name__)):
            assert loaded.get_vecattr("cat", "count") == counts["cat"]
    wv.save(tmp_path / "kv")
    assert KeyedVectors.load(tmp_path / "kv").get_vecattr("the", "count") == counts["the"]
    plain = KeyedVectors(["a", "b"], np.eye(2, dtype=np.float32))
    with pytest.raises(InputError, match="these vectors keep no 'count' per word \\(kept: "
                                         "none\\); the vectors of Word2Vec and GloVe keep"):
        plain.get_vecattr("a", "count")
    plain.set_vecattr("b", "count", 7)
    assert (plain.get_vecattr("a", "count"), plain.get_vecattr("b", "count")) == (0, 7)


def test_adding_vectors_answers_as_gensim():
    # KeyedVectors was immutable: gensim's add_vector(s) and word_vec were missing
    rng = np.random.default_rng(1)
    words, vectors = ["a", "b", "c"], rng.normal(size=(3, 4)).astype(np.float32)
    ours = KeyedVectors(words, vectors, counts=np.array([5, 3, 1]))
    ref = gensim_models.KeyedVectors(4)
    ref.add_vectors(words, vectors)
    more = rng.normal(size=(2, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gensim warns that one row at a time is slow
        for kv in (ours, ref):
            kv.add_vectors(["d", "a"], more)  # "a" is known: it keeps its vector
            kv.add_vector("e", np.ones(4, dtype=np.float32))
            kv.add_vectors(["b"], np.full((1, 4), 2.0), replace=True)
    assert ours.index_to_key == ref.index_to_key == ["a", "b", "c", "d", "e"]
    np.testing.assert_allclose(ours.vectors, ref.vectors)
    (w1, s1), (w2, s2) = ours.most_similar("e", topn=2)
    assert [w1, w2] == [w for w, _ in ref.most_similar("e", topn=2)]
    assert [s1, s2] == pytest.approx([s for _, s in ref.most_similar("e", topn=2)], abs=1e-6)
    assert ours.get_vecattr("d", "count") == 0 and ours.get_vecattr("a", "count") == 5
    np.testing.assert_allclose(ours.word_vec("e", norm=True), np.full(4, 0.5))
    with pytest.raises(InputError, match="one vector of 4 numbers per word"):
        ours.add_vectors(["f"], np.ones(3))
    with pytest.raises(InputError, match="a word twice"):
        ours.add_vectors(["f", "f"], np.ones((2, 4)))
    with pytest.raises(InputError, match="finite numbers"):
        ours.add_vector("g", [np.nan] * 4)
    assert len(ours) == 5  # nothing half-added


def test_gensims_files_read_wrongly_say_what_to_do(pair, tmp_path, cli_run, monkeypatch):
    # a text file read with binary=True said "duplicate word '' in the vocabulary"; gensim's
    # own .save pickle was "a file, not a model folder" or "binary data without a header"
    ours, ref = pair
    ref.save_word2vec_format(str(tmp_path / "v.txt"))
    with pytest.raises(InputError, match=r"v.txt is a word2vec text file \(lines of a word and "
                                         r"its numbers\), not a binary one; pass binary=False"):
        KeyedVectors.load_word2vec_format(tmp_path / "v.txt", binary=True)
    ref.save(str(tmp_path / "g.kv"))
    from dlcourse.embeddings import load_vectors

    for read in (KeyedVectors.load, load_vectors):
        with pytest.raises(InputError, match=r"g.kv is a gensim pickle \(its .save format\), "
                                             r"which dlcourse does not read"):
            read(tmp_path / "g.kv")
    monkeypatch.chdir(tmp_path)
    cli_run("embed", "similar", "g.kv", "w1").assert_user_error(
        r"save_word2vec_format\('vectors.bin', binary=True\)")
