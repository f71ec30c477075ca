"""The classify lesson's Python API with odd arguments: the bag-of-words baseline used before
``fit`` or on no texts, labels that are not one string or number, and batch sizes that are not
positive integers. Each is refused with the library's own exception as ``TextClassifier``
refuses it, or accepted as configs accept it."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.classify import BowLogisticRegression, TextClassifier
from dlcourse.errors import InputError, NotFittedError

TEXTS = ["good fun", "great film", "fine acting", "dull mess", "bad plot", "awful film"] * 3
LABELS = (["pos"] * 3 + ["neg"] * 3) * 3


@pytest.fixture(scope="module")
def bow():
    return BowLogisticRegression(max_iter=20).fit(TEXTS, LABELS)


@pytest.fixture(scope="module")
def clf(pang_lee_split):
    from tests.classify.conftest import TINY

    train, _ = pang_lee_split
    return TextClassifier(**{**TINY, "epochs": 1}).fit(*train)


def test_the_baseline_evaluated_before_fit_is_not_fitted():
    with pytest.raises(NotFittedError, match="call fit"):
        BowLogisticRegression().evaluate(["x"], ["pos"])


def test_the_baseline_refuses_to_evaluate_no_texts_as_text_classifier_does(bow, clf):
    for model in (bow, clf):
        with pytest.raises(InputError, match="evaluate needs at least one labelled text"):
            model.evaluate([], [])
    assert bow.evaluate(["good fun"], ["pos"])["n"] == 1  # one text is enough


@pytest.mark.parametrize("label, kind", [
    ((1, 2), r"tuple \(1, 2\)"),
    ([1, 2], r"list \[1, 2\]"),
    ({"y": 1}, r"dict \{'y': 1\}"),
    (np.array([1, 2]), r"ndarray array\(\[1, 2\]\)"),
])
@pytest.mark.parametrize("make", [lambda: TextClassifier(epochs=1, device="cpu"),
                                  BowLogisticRegression], ids=["TextClassifier", "bow"])
def test_fit_refuses_labels_that_are_not_one_string_or_number(make, label, kind):
    labels = LABELS[:3] + [label] + LABELS[4:]
    with pytest.raises(InputError, match=rf"label 3 is {kind}; a label must be one string or "
                                         "number"):
        make().fit(TEXTS, labels)


def test_tuple_labels_are_refused_before_training_and_scalars_still_accepted(bow):
    # JSON would give them back as lists: predict answered [1, 2], evaluate failed on them
    with pytest.raises(InputError, match=r"label 0 is tuple \(1, 2\)"):
        TextClassifier(epochs=1, device="cpu").fit(TEXTS[:16], [(1, 2), (3, 4)] * 8)
    labels = np.array([1 if y == "pos" else 0 for y in LABELS])  # np.int64 each
    model = BowLogisticRegression(max_iter=5).fit(TEXTS, labels)
    assert model.classes_.tolist() == [0, 1]
    assert all(type(c) is int for c in model.predict(TEXTS[:3]))  # plain, not np.int64
    assert bow.evaluate(TEXTS, np.array(LABELS))["n"] == len(TEXTS)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, float("nan"), "8", None])
@pytest.mark.parametrize("method", ["predict", "predict_proba", "evaluate"])
def test_a_batch_size_below_one_or_not_whole_names_batch_size(clf, method, batch_size):
    args = (["a fine film"], ["pos"]) if method == "evaluate" else (["a fine film"],)
    with pytest.raises(InputError, match=r"batch_size must be an integer >= 1 .*got "):
        getattr(clf, method)(*args, batch_size=batch_size)


def test_batch_size_takes_integer_likes_as_configs_do(clf, pang_lee_split):
    texts, labels = pang_lee_split[1]
    expected = clf.predict_proba(texts, batch_size=8)
    assert np.allclose(clf.predict_proba(texts, batch_size=np.int64(8)), expected)
    assert np.allclose(clf.predict_proba(texts, batch_size=8.0), expected)
    assert clf.evaluate(texts, labels, batch_size=np.int32(3))["n"] == len(texts)
    with pytest.raises(InputError, match="batch_size"):  # even with nothing to score
        clf.predict([], batch_size=0)


def test_texts_that_are_not_strings_get_the_fix_that_fits():
    from dlcourse.classify.encoding import text_list
    from dlcourse.errors import InputError

    with pytest.raises(InputError, match=r"texts must be a list of strings, got int 5; pass "
                                         r"\[text\]"):
        text_list(5)  # it was TypeError: 'int' object is not iterable
    long_tokens = [["a", "fine", "film"] * 20]
    with pytest.raises(InputError, match=r"item 0 is list \['a', 'fine', .*\.\.\.; join each "
                                         r"text's tokens into one string") as info:
        text_list(long_tokens)  # token lists were told to "drop or fill the missing texts"
    assert len(str(info.value)) < 150  # not the whole list
    with pytest.raises(InputError, match=r"item 1 is NoneType None; drop or fill the missing"):
        text_list(["a film", None])


def test_pretrained_none_as_the_help_spells_it_means_random_vectors():
    # the help and the error listed "none", yet pretrained="none" was looked up as vectors
    # and refused, with a DlcourseError that `except ValueError` missed
    from tests.classify.conftest import TINY

    spelt = TextClassifier(**{**TINY, "epochs": 1, "pretrained": "none"}).fit(TEXTS, LABELS)
    plain = TextClassifier(**{**TINY, "epochs": 1, "pretrained": None}).fit(TEXTS, LABELS)
    # read as None once validated, as every setting that may be None reads the word
    assert spelt.get_params()["pretrained"] is None
    np.testing.assert_array_equal(spelt.predict_proba(TEXTS), plain.predict_proba(TEXTS))
    with pytest.raises(ValueError, match="pretrained vectors 'nosuch' not found; pass one of"):
        TextClassifier(**{**TINY, "pretrained": "nosuch"}).fit(TEXTS, LABELS)
