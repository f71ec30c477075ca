"""gensim habits on dlcourse vectors and Word2Vec: row numbers as keys, gensim's edge cases,
its analogy sections and its two-step training, against gensim where it answers."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors as GensimKV
from gensim.test.utils import datapath

from dlcourse.embeddings import KeyedVectors, Word2Vec
from dlcourse.errors import InputError, MissingFileError


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(20)]
    vectors = rng.normal(size=(20, 5)).astype(np.float32)
    ref = GensimKV(5)
    ref.add_vectors(words, vectors)
    return KeyedVectors(words, vectors), ref


def test_row_numbers_are_keys_as_in_gensim(pair):
    ours, ref = pair
    for keys in ([1, 2], ["w1", 2], [np.int64(1), "w2"]):
        np.testing.assert_allclose(ours.get_mean_vector(keys), ref.get_mean_vector(keys),
                                   atol=1e-6)
    assert ours.has_index_for(3) and ref.has_index_for(3)
    assert not ours.has_index_for(99) and not ours.has_index_for("zz")


def test_mean_vector_edge_cases_as_in_gensim(pair):
    ours, ref = pair
    # no key found: gensim's zero vector (a document of unknown words averages to zeros)
    np.testing.assert_array_equal(ours.get_mean_vector(["zz", "qq"]), np.zeros(5))
    assert ours.get_mean_vector(["zz"]).dtype == np.float32
    np.testing.assert_allclose(ours.get_mean_vector("w1"), ours.get_vector("w1", norm=True))
    with pytest.raises(InputError, match="at least one key"):
        ours.get_mean_vector([])
    with pytest.raises(InputError, match=r"shape \(5,\)"):
        ours.get_mean_vector(["w1", np.ones(3)])
    with pytest.raises(KeyError, match="'zz' is not in the vocabulary"):
        ours.get_mean_vector(["zz", "w1"], ignore_missing=False)


def test_distances_take_none_and_vectors_as_gensim(pair):
    ours, ref = pair
    np.testing.assert_allclose(ours.distances("w1", None), ref.distances("w1", None), atol=1e-5)
    np.testing.assert_allclose(ours.distances(list(ours["w1"]), ["w2"]),
                               ref.distances(ref["w1"], ["w2"]), atol=1e-5)


def test_analogy_sections_are_gensims():
    ref = GensimKV.load_word2vec_format(datapath("lee_fasttext.vec"))
    ours = KeyedVectors(ref.index_to_key, ref.vectors)
    path = datapath("questions-words.txt")
    for kwargs in ({}, {"dummy4unknown": True},
                   {"case_insensitive": False, "restrict_vocab": 500}):
        score, sections = ours.evaluate_word_analogies(path, **kwargs)
        ref_score, ref_sections = ref.evaluate_word_analogies(path, **kwargs)
        assert score == pytest.approx(ref_score)
        assert sections == ref_sections
    assert sections[-1]["section"] == "Total accuracy"
    with pytest.raises(InputError, match="choose one of most_similar"):
        ours.evaluate_word_analogies(path, similarity_function="cosine")
    with pytest.raises(InputError, match="drop dummy4unknown"):
        ours.evaluate_word_pairs(datapath("wordsim353.tsv"), dummy4unknown=True)


def test_build_vocab_refuses_a_generator_and_a_missing_file(tmp_path):
    sentences = [["the", "cat", "sat"], ["the", "dog", "sat"]] * 20
    model = Word2Vec(vector_size=8, min_count=1, workers=1, epochs=1)
    with pytest.raises(InputError, match="one-shot iterator"):
        model.build_vocab(s for s in sentences)
    with pytest.raises(MissingFileError, match="does not exist"):
        model.build_vocab(corpus_file=tmp_path / "nope.txt")
    model.build_vocab(sentences)
    assert (model.corpus_count, model.corpus_total_words) == (40, 120)
    with pytest.raises(InputError, match=r"callback=fn"):
        model.train(sentences, total_examples=model.corpus_count, epochs=1, callbacks=[])
