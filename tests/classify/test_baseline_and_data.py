"""The bag-of-words baseline, the vector loader and the review-sentence split on real data."""

import numpy as np
import pytest

from dlcourse.classify import embedding_matrix, load_vectors, rt_split
from dlcourse.classify.baseline import BowLogisticRegression
from dlcourse.errors import DlcourseError


def test_bow_matches_sklearn_logistic_regression(pang_lee_split):
    pytest.importorskip("sklearn")
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    (tr_t, tr_y), (va_t, _) = pang_lee_split
    ours = BowLogisticRegression(ngrams=2, C=1.0).fit(tr_t, tr_y)
    vec = CountVectorizer(tokenizer=ours.tokenizer_, lowercase=False, ngram_range=(1, 2),
                          binary=True, token_pattern=None)
    sk = LogisticRegression(C=1.0, tol=1e-8, max_iter=5000).fit(vec.fit_transform(tr_t), tr_y)
    np.testing.assert_allclose(ours.predict_proba(va_t), sk.predict_proba(vec.transform(va_t)),
                               atol=2e-3)
    assert ours.predict(tr_t) == list(tr_y)  # 160 sentences, 1-2 grams: separable


def test_bow_three_classes_and_errors():
    texts = ["good good", "bad bad", "meh meh", "good", "bad", "meh"]
    labels = ["p", "n", "o", "p", "n", "o"]
    bow = BowLogisticRegression(ngrams=1, C=10.0).fit(texts, labels)
    assert bow.predict(["good", "bad", "meh"]) == ["p", "n", "o"]
    assert bow.predict_proba(["good"]).shape == (1, 3)
    with pytest.raises(DlcourseError, match="one label per text"):
        BowLogisticRegression().fit(["a"], [])
    with pytest.raises(ValueError, match="C must be > 0.0, got 0.0"):
        BowLogisticRegression(C=0).fit(["a", "b"], [0, 1])
    with pytest.raises(ValueError, match="C must be a number, got '1'"):
        BowLogisticRegression(ngrams=1, C="1").fit(["a", "b"], [0, 1])
    # one text as a string is one prediction (it was one per character); arrays work as lists
    assert bow.predict("good") == ["p"] and bow.predict(np.array(["bad", "meh"])) == ["n", "o"]
    with pytest.raises(DlcourseError, match="item 1 is NoneType"):
        BowLogisticRegression().fit(["a", None], [0, 1])
    with pytest.raises(DlcourseError, match="label 1 is missing"):
        BowLogisticRegression().fit(["a", "b"], [0, None])


def test_bow_follows_the_estimator_contract(tmp_path):
    """Parameters, repr, not-fitted error, and a model file that gives the same answers."""
    from dlcourse.errors import NotFittedError

    texts = ["good good", "bad bad", "meh meh", "good", "bad", "meh"]
    labels = ["p", "n", "o", "p", "n", "o"]
    bow = BowLogisticRegression(ngrams=1, C=10.0)
    assert bow.get_params()["C"] == 10.0 and repr(bow) == "BowLogisticRegression(ngrams=1, C=10.0)"
    with pytest.raises(NotFittedError, match="not fitted yet"):
        bow.predict(["good"])
    assert bow.fit(texts, labels) is bow
    bow.save(tmp_path / "bow")
    loaded = BowLogisticRegression.load(tmp_path / "bow")
    assert loaded.get_params() == bow.get_params() and (loaded.classes_ == bow.classes_).all()
    np.testing.assert_allclose(loaded.predict_proba(texts), bow.predict_proba(texts), rtol=1e-6)
    assert loaded.evaluate(texts, labels) == bow.evaluate(texts, labels)


def test_rt_split_is_fixed_stratified_and_disjoint():
    a, b = rt_split(), rt_split()
    assert a == b
    sizes = {k: len(v[0]) for k, v in a.items()}
    assert sum(sizes.values()) == 10568 and sizes["test"] == pytest.approx(1057, abs=2)
    for _, labels in a.values():
        assert abs(labels.count("pos") / len(labels) - 5242 / 10568) < 0.01
    assert rt_split(seed=1)["test"] != a["test"]


def test_rated_sentences_of_other_domains():
    """Hutto & Gilbert's Amazon, NYT and tweet sentences (the out-of-domain benchmark's data):
    labelled by the sign of their rating, those rated 0 dropped; movies is rt-sentences."""
    from dlcourse.classify.data import load_rated_sentences, load_rt_sentences

    counts = {}
    for domain in ("amazon", "nyt", "tweets"):
        texts, labels = load_rated_sentences(domain)
        counts[domain] = (len(texts), labels.count("pos"))
        assert set(labels) == {"pos", "neg"} and all(t.strip() for t in texts)
    assert counts == {"amazon": (3610, 2128), "nyt": (4946, 2204), "tweets": (4196, 2897)}
    assert load_rated_sentences("movies") == load_rt_sentences()
    with pytest.raises(ValueError, match="unknown domain 'books'; choose one of movies"):
        load_rated_sentences("books")


def test_vector_file_formats_and_matrix(tmp_path):
    words, vectors = load_vectors("glove-test")
    assert vectors.shape == (76, 50) and vectors.dtype == np.float32
    w2v = tmp_path / "v.txt"  # word2vec text format: a "count dim" header line
    w2v.write_text("2 3\nfilm 1 2 3\ngood 0.5 0.5 0.5\n", encoding="utf-8")
    words2, vecs2 = load_vectors(w2v)
    assert words2 == ["film", "good"] and vecs2.shape == (2, 3)
    matrix, cov = embedding_matrix(["<pad>", "<unk>", "film", "Good", "zzz"], words2, vecs2,
                                   token_lists=[["film", "zzz", "film"]])
    np.testing.assert_array_equal(matrix[2], [1, 2, 3])
    np.testing.assert_array_equal(matrix[3], [0.5, 0.5, 0.5])  # lower-case lookup fallback
    assert not matrix[0].any() and cov["found"] == 2
    assert cov["token_coverage"] == pytest.approx(2 / 3)
    _, cov = embedding_matrix(["<pad>", "<unk>", "zzz", "film"], words2, vecs2, counted=3)
    assert cov["vocab_size"] == 3 and cov["found"] == 0  # appended rows are not counted
    bad = tmp_path / "bad.txt"
    bad.write_text("film 1 2 3\ngood 1 2\n", encoding="utf-8")
    with pytest.raises(DlcourseError, match="truncated"):
        load_vectors(bad)


def test_online_sets_read_from_their_cache_layout(isolated_cache):
    from dlcourse.classify.data import load_dataset

    imdb = isolated_cache / "datasets" / "imdb" / "aclImdb"
    (imdb / "README").parent.mkdir(parents=True)
    (imdb / "README").write_text("readme")
    for split in ("train", "test"):
        for label in ("neg", "pos"):
            (imdb / split / label).mkdir(parents=True)
            (imdb / split / label / "0_1.txt").write_text(f"{split} {label}<br />review")
    parts = load_dataset("imdb")
    assert parts["valid"] is None
    assert parts["test"] == (["test neg review", "test pos review"], ["neg", "pos"])
    mr = isolated_cache / "datasets" / "mr-polarity" / "rt-polaritydata"
    mr.mkdir(parents=True)
    (mr / "rt-polarity.pos").write_bytes("".join(f"caf\xe9 good {i}\n" for i in range(10))
                                         .encode("latin-1"))
    (mr / "rt-polarity.neg").write_bytes(b"".join(b"dull %d\n" % i for i in range(10)))
    parts = load_dataset("mr-polarity")
    assert sum(len(p[0]) for p in parts.values()) == 20
    assert "café good 0" in parts["train"][0] + parts["valid"][0] + parts["test"][0]
    with pytest.raises(ValueError, match="choose one of rt-sentences"):
        load_dataset("sst")


def test_splitters_check_their_arguments_when_called():
    from dlcourse.classify import holdout, kfold
    from dlcourse.errors import InputError

    texts, labels = [f"t{i}" for i in range(20)], [i % 2 for i in range(20)]
    with pytest.raises(InputError, match="20 texts but 19 labels"):
        holdout(texts, labels[:-1])
    # kfold refuses at the call, before any fold is asked for
    with pytest.raises(InputError, match="k must be >= 2"):
        kfold(texts, labels, k=1)
    with pytest.raises(InputError, match="valid_fraction"):
        kfold(texts, labels, valid_fraction=1.0)
    with pytest.raises(InputError, match="20 texts but 19 labels"):
        kfold(texts, labels[:-1])
    with pytest.raises(InputError, match="three numbers; got 2"):
        rt_split(fractions=(0.9, 0.1))
