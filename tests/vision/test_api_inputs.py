"""The Python API refuses what it cannot use with one InputError naming the argument and the
fix, before any weights are built or a model trains (found by probing ArrayImageDataset and
ImageClassifier with wrong inputs: torch errors, TypeErrors or silent training)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from dlcourse.errors import InputError
from dlcourse.vision.data import ArrayImageDataset
from dlcourse.vision.estimator import ImageClassifier

PIXELS = np.zeros((4, 8, 8), np.uint8)


@pytest.fixture
def no_model_built(monkeypatch):
    """A fit that got past its checks would build the network: make that fail loudly."""
    import dlcourse.vision.estimator as estimator

    def refuse(*args, **kwargs):
        raise AssertionError("model built before the input was checked")

    monkeypatch.setattr(estimator, "build_model", refuse)


@pytest.fixture(scope="module")
def fitted(vision_model):
    return ImageClassifier.load(vision_model)


# ---- ArrayImageDataset -------------------------------------------------------------------------
@pytest.mark.parametrize("labels, match", [
    # a column of labels broke cross_entropy in features mode and trained silently in finetune
    (np.array([[0], [1], [0], [1]]), r"labels must be a 1-D array .* got shape \(4, 1\); .*"
                                     r"labels\.ravel\(\)"),
    (np.eye(2, dtype=np.int64)[[0, 1, 0, 1]], r"got shape \(4, 2\); .*labels\.argmax\(1\)"),
    (np.int64(0), r"labels must be a 1-D array .* got shape \(\)"),
    ([0, 1, 0], "4 images but 3 labels; give one label per image"),
    ([0, 1, 2, 0], "labels must lie in 0..1 for 2 classes, got 2; give each image"),
    ([0, -1, 0, 1], "labels must lie in 0..1 for 2 classes, got -1"),
    ([0.0, 1.0, 0.0, 1.0], "labels must be integer class indices, got float64"),
])
def test_labels_must_be_one_class_index_per_image(labels, match):
    with pytest.raises(InputError, match=match):
        ArrayImageDataset(PIXELS, labels, ["dark", "bright"])


@pytest.mark.parametrize("labels", [
    np.array([0, 1, 0, 1], np.int32), np.array([0, 1, 0, 1], np.uint8), [0, 1, 0, 1],
    torch.tensor([0, 1, 0, 1]), np.array([0, 1, 0, 1], np.uint64)])
def test_integer_labels_of_any_kind_are_taken(labels):
    ds = ArrayImageDataset(PIXELS, labels, ["dark", "bright"])
    assert ds.labels.dtype == torch.long and ds.labels.tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize("classes, match", [
    (["same", "same"], "class name 'same' appears 2 times in classes; give each class its "
                       "own name"),
    ("ab", "classes must be a list of class names, got str 'ab'"),
    (None, "classes must be a list of class names, got NoneType"),
    ([0, 1], r"classes\[0\] is int 0; class names must be strings"),
    ([], "classes is empty; give one name per class"),
])
def test_class_names_must_be_distinct_strings(classes, match):
    with pytest.raises(InputError, match=match):
        ArrayImageDataset(PIXELS, [0, 0, 0, 0], classes)


def test_numpy_class_names_become_plain_strings():
    ds = ArrayImageDataset(PIXELS, [0, 1, 0, 1], np.array(["dark", "bright"]))
    assert ds.classes == ["dark", "bright"] and type(ds.classes[0]) is str


@pytest.mark.parametrize("images", [
    None, [np.zeros((8, 8), np.uint8), np.zeros((9, 9), np.uint8)]])
def test_images_that_are_not_one_array_are_named(images):
    with pytest.raises(InputError, match="images must be one uint8 array of equal-sized "
                                         "images, got .*np.stack"):
        ArrayImageDataset(images, [0, 1], ["a", "b"])


# ---- ImageClassifier.fit -----------------------------------------------------------------------
def test_fit_refuses_a_training_set_of_one_class_before_any_work(tiny, no_model_built):
    _, settings = tiny
    one_class = ArrayImageDataset(np.zeros((16, 16, 16), np.uint8), np.zeros(16, int),
                                  ["a", "b"])
    with pytest.raises(InputError, match=r"only one class \('a'\) in the training labels; "
                                         r"a classifier needs at least two: add images of "
                                         r"another of the classes \['a', 'b'\]"):
        ImageClassifier(**settings).fit(one_class)


@pytest.mark.parametrize("train, valid, match", [
    (None, None, "train must be an ArrayImageDataset .* got NoneType"),
    ("photos/", None, "train must be an ArrayImageDataset .* got str"),
    ("tiny", "bad", "valid must be an ArrayImageDataset .* got str"),
])
def test_fit_refuses_what_is_not_a_data_set_before_any_work(tiny, no_model_built, train,
                                                           valid, match):
    make, settings = tiny
    train = make(8) if train == "tiny" else train
    with pytest.raises(InputError, match=match):
        ImageClassifier(**settings).fit(train, valid)


@pytest.mark.parametrize("mode", ["features", "finetune"])
def test_a_valid_data_set_still_fits(tiny, no_feature_cache_writes, mode):
    make, settings = tiny
    train = ArrayImageDataset(make(16).images.numpy(), np.arange(16, dtype=np.int32) % 2,
                              np.array(["dark", "bright"]))
    clf = ImageClassifier(**settings, mode=mode).fit(train, make(8, seed=1))
    assert clf.classes_.tolist() == ["dark", "bright"] and len(clf.history_) == 1
    preds = clf.predict_top(train.images[:3], k=np.int64(1))
    assert [len(p) for p in preds] == [1, 1, 1]


# ---- prediction and evaluation -----------------------------------------------------------------
@pytest.mark.parametrize("k", ["x", True, 0, -2, 2.5, None])
def test_predict_top_names_a_bad_k(fitted, k):
    got = re.escape(repr(k))
    with pytest.raises(InputError, match=r"k must be an integer >= 1 \(the number of classes "
                                         r"to list per image\), got " + got):
        fitted.predict_top(np.zeros((2, 16, 16), np.uint8), k=k)


def test_predict_checks_k_before_reading_any_file(fitted, tmp_path):
    with pytest.raises(InputError, match="k must be an integer >= 1"):
        fitted.predict_top([tmp_path / "missing.png"], k="3")


def test_predict_top_names_images_that_are_not_an_array(fitted):
    with pytest.raises(InputError, match="images must be one uint8 array"):
        fitted.predict_top([np.zeros((16, 16), np.uint8), np.zeros((8, 8), np.uint8)])


@pytest.mark.parametrize("method", ["logits", "evaluate"])
def test_logits_and_evaluate_name_what_is_not_a_data_set(fitted, method):
    with pytest.raises(InputError, match=f"{method} takes an ArrayImageDataset .* got NoneType"):
        getattr(fitted, method)(None)
