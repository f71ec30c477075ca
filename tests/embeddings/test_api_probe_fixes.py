"""What a new user's probe of the Python API found: NaN query vectors answered silently, a
binary file read as text blamed on its encoding, registered data names taken by some functions
only, and a progress callback that stopped short of the epoch (GloVe("cbow")'s message is
tests/engine/test_positional_args.py's)."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.data import fetch
from dlcourse.embeddings import (
    KeyedVectors,
    Word2Vec,
    evaluate_analogies,
    evaluate_similarity,
    load_vectors,
    word2vec_cpu,
)
from dlcourse.embeddings.corpus import encode_blocks
from dlcourse.errors import DlcourseError, InputError

GLOVE_TEST = "test_glove.txt"


@pytest.fixture(scope="module")
def glove_test() -> KeyedVectors:
    """gensim's 76 Stanford GloVe vectors (50 dimensions), read from their file."""
    return KeyedVectors.load_word2vec_format(fetch("glove-test") / GLOVE_TEST, no_header=True)


# ------------------------------------------------------------------ 1. non-finite vectors
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e39])  # 1e39: inf as float32
@pytest.mark.parametrize("query", [
    lambda kv, v: kv.most_similar(v),
    lambda kv, v: kv.most_similar(positive=["the", v], negative=["of"]),
    lambda kv, v: kv.most_similar(negative=[v], topn=None),
    lambda kv, v: kv.similar_by_vector(v),
    lambda kv, v: kv.distances(v),
    lambda kv, v: kv.get_mean_vector(["the", v]),
    lambda kv, v: kv.cosine_similarities(v, kv.vectors),
], ids=["most_similar", "with_words", "negative", "similar_by_vector", "distances",
        "get_mean_vector", "cosine_similarities"])
def test_non_finite_query_vectors_are_refused(glove_test, query, bad):
    vector = glove_test["the"].astype(np.float64)
    vector[7] = bad
    with pytest.raises(InputError, match=r"must hold finite numbers; 1 of its 50 values"):
        query(glove_test, vector)


def test_finite_query_vectors_still_answer_as_gensim(glove_test):
    gensim = pytest.importorskip("gensim.models")
    twin = gensim.KeyedVectors.load_word2vec_format(fetch("glove-test") / GLOVE_TEST,
                                                    no_header=True)
    query = glove_test["he"] - glove_test["his"] + glove_test["her"]
    ours = glove_test.similar_by_vector(query, topn=5)
    theirs = twin.similar_by_vector(query, topn=5)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)
    np.testing.assert_allclose(glove_test.cosine_similarities(query, glove_test.vectors),
                               twin.cosine_similarities(query, twin.vectors), atol=1e-5)


def test_cosine_similarities_checks_the_table(glove_test):
    with pytest.raises(InputError, match=r"vectors_all must have shape \(N, 50\)"):
        glove_test.cosine_similarities(glove_test["the"], glove_test.vectors[:, :10])
    table = glove_test.vectors[:4].copy()
    table[2, 0] = np.nan
    with pytest.raises(InputError, match="vectors_all must hold finite numbers; 1 of its 4"):
        KeyedVectors.cosine_similarities(glove_test["the"], table)


# ------------------------------------------------------------ 2. a binary file read as text
def test_binary_file_read_as_text_says_binary_true(glove_test, tmp_path):
    path = glove_test.save_word2vec_format(tmp_path / "v.bin", binary=True)
    for kwargs in ({}, {"encoding": "latin-1"}, {"unicode_errors": "replace"}):
        with pytest.raises(DlcourseError, match=r"word2vec binary file .*pass binary=True, or "
                           r"read it with dlcourse\.embeddings\.load_vectors") as err:
            KeyedVectors.load_word2vec_format(path, **kwargs)
        assert "encoding" not in str(err.value)
    with pytest.raises(DlcourseError, match="pass binary=True without no_header"):
        KeyedVectors.load_word2vec_format(path, no_header=True)
    # what the message points to reads it
    assert load_vectors(path).index_to_key == glove_test.index_to_key
    back = KeyedVectors.load_word2vec_format(path, binary=True)
    np.testing.assert_array_equal(back.vectors, glove_test.vectors)


def test_text_files_keep_their_own_messages(tmp_path):
    latin = tmp_path / "latin.txt"  # a text file in another encoding: the encoding is the fix
    latin.write_bytes("2 3\ncaf\u00e9 1 2 3\nthe 4 5 6\n".encode("latin-1"))
    with pytest.raises(DlcourseError, match=r"byte 0xe9 is not valid utf-8; pass the file's "
                       "encoding"):
        KeyedVectors.load_word2vec_format(latin)
    assert KeyedVectors.load_word2vec_format(latin, encoding="latin-1").index_to_key == [
        "caf\u00e9", "the"]
    short = tmp_path / "short.txt"  # a damaged text file is not taken for a binary one
    short.write_text("2 3\nthe 1 2\n", encoding="utf-8")
    with pytest.raises(DlcourseError, match="expected a word and 3 numbers"):
        KeyedVectors.load_word2vec_format(short)


# ---------------------------------------------------------------- 3. registered data names
def test_evaluation_functions_take_the_registered_names(lee_skipgram):
    kv = lee_skipgram.wv
    wordsim = fetch("wordsim353") / "wordsim353.tsv"
    questions = fetch("questions-words") / "questions-words.txt"
    assert evaluate_similarity(kv, "wordsim353") == evaluate_similarity(kv, wordsim)
    assert evaluate_analogies(kv, "questions-words") == evaluate_analogies(kv, questions)
    assert kv.evaluate_word_pairs("wordsim353") == kv.evaluate_word_pairs(wordsim)
    assert kv.evaluate_word_analogies("questions-words") == kv.evaluate_word_analogies(questions)
    scores = lee_skipgram.evaluate(["wordsim353", "questions-words"])
    assert scores["wordsim353"] == evaluate_similarity(kv, "wordsim353")
    assert scores["questions-words"]["accuracy"] == evaluate_analogies(kv)["accuracy"]


def test_registered_names_match_gensim(lee_skipgram):
    gensim = pytest.importorskip("gensim.models")
    twin = gensim.KeyedVectors(lee_skipgram.wv.vector_size)
    twin.add_vectors(lee_skipgram.wv.index_to_key, lee_skipgram.wv.vectors)
    (pearson, _), (spearman, _), oov = lee_skipgram.wv.evaluate_word_pairs("wordsim353")
    (g_pearson, _), (g_spearman, _), g_oov = twin.evaluate_word_pairs(
        fetch("wordsim353") / "wordsim353.tsv")
    assert (pearson, spearman, oov) == pytest.approx((g_pearson, g_spearman, g_oov), abs=1e-5)
    accuracy, _ = lee_skipgram.wv.evaluate_word_analogies("questions-words")
    g_accuracy, _ = twin.evaluate_word_analogies(fetch("questions-words") / "questions-words.txt")
    assert accuracy == pytest.approx(g_accuracy)


def test_load_vectors_takes_the_registered_vector_sets(glove_test):
    kv = load_vectors("glove-test")
    assert kv.index_to_key == glove_test.index_to_key
    np.testing.assert_array_equal(kv.vectors, glove_test.vectors)
    big = load_vectors("glove-6b-50d")  # Stanford's 400,000 words (a .npy and a word index)
    assert (len(big), big.vector_size) == (400_000, 50)
    assert "queen" in [w for w, _ in big.most_similar(positive=["king", "woman"],
                                                      negative=["man"], topn=3)]


@pytest.mark.parametrize("call, message", [
    (lambda kv: evaluate_analogies(kv, "wordsim353"),
     r"'wordsim353' is a word-pair similarity set, not an analogy set; pass it to "
     "evaluate_similarity"),
    (lambda kv: kv.evaluate_word_pairs("questions-words"),
     "'questions-words' is an analogy set, not a word-pair similarity set; pass it to "
     "evaluate_analogies"),
    (lambda kv: evaluate_similarity(kv, "glove-test"),
     "'glove-test' is a set of word vectors, not a word-pair similarity set; pass it to "
     "load_vectors"),
    (lambda kv: load_vectors("wordsim353"), "'wordsim353' is a word-pair similarity set"),
    (lambda kv: load_vectors("no-such-vectors"),
     r"no vectors at no-such-vectors; .* a registered set \(glove-test, glove-6b-50d\)"),
    (lambda kv: evaluate_similarity(kv, "no-such.tsv"),
     r"no word-pair file at no-such.tsv; .* a registered set \(wordsim353\)"),
], ids=["analogies_given_pairs", "pairs_given_analogies", "pairs_given_vectors",
        "vectors_given_pairs", "no_vectors", "no_pairs"])
def test_a_wrong_name_says_what_to_pass(glove_test, call, message):
    with pytest.raises(InputError, match=message):
        call(glove_test)


def test_evaluate_names_its_argument_as_python_does(lee_skipgram):
    with pytest.raises(DlcourseError, match=r"^data 'zzz' is neither an evaluation set "
                       r"\(wordsim353, questions-words\) nor an existing file$"):
        lee_skipgram.evaluate("zzz")
    with pytest.raises(DlcourseError, match="^data 'glove-test' is a set of word vectors"):
        lee_skipgram.evaluate(["wordsim353", "glove-test"])


# --------------------------------------------------- 5. the callback reaches the epoch's end
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_callback_reports_every_chunk_up_to_the_epochs_words(lee_sentences, monkeypatch,
                                                             workers):
    monkeypatch.setattr(word2vec_cpu, "CHUNK_TOKENS", 4000)  # Lee's 60,000 words: ~15 chunks
    seen: list[dict] = []
    model = Word2Vec(vector_size=16, min_count=2, epochs=2, workers=workers,
                     backend="numba").fit(lee_sentences, callback=seen.append)
    blocks = encode_blocks(lee_sentences, model.wv.key_to_index)  # as the trainer cut them
    chunks = sum(1 for _ in word2vec_cpu._chunks(blocks, 0))
    for epoch, entry in enumerate(model.history_, start=1):
        words = [r["words"] for r in seen if r["epoch"] == epoch]
        assert len(words) == chunks > 10  # one report a chunk, whichever thread trained it
        assert all(a < b for a, b in zip(words, words[1:]))
        assert words[-1] == entry["words"] == sum(len(s) for s in lee_sentences)

