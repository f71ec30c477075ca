"""Labels replaced or changed after an ArrayImageDataset was built are checked again: assigning
``ds.labels`` (or ``ds.classes``) runs the constructor's checks, and ``fit``/``evaluate`` re-run
them, so a wrong length, a column (N, 1), an index past the class names or a single class is
one InputError naming the fix, not a torch error (AttributeError, IndexError) or a silent run.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.errors import InputError
from dlcourse.vision.data import ArrayImageDataset
from dlcourse.vision.estimator import ImageClassifier

N = 8


def _dataset() -> ArrayImageDataset:
    return ArrayImageDataset(np.zeros((N, 8, 8), np.uint8), np.arange(N) % 2, ["dark", "bright"])


def _classifier() -> ImageClassifier:
    return ImageClassifier(arch="efficientnet_lite0", weights="none", image_size=32, epochs=1,
                           batch_size=4, device="cpu")


@pytest.fixture
def no_model_built(monkeypatch):
    """A fit that got past its checks would build the network: make that fail loudly."""
    import dlcourse.vision.estimator as estimator

    def refuse(*args, **kwargs):
        raise AssertionError("model built before the labels were checked")

    monkeypatch.setattr(estimator, "build_model", refuse)


REPLACED = [
    (np.arange(N - 2) % 2, rf"{N} images but {N - 2} labels; give one label per image"),
    ((np.arange(N) % 2)[:, None], rf"labels must be a 1-D array .* got shape \({N}, 1\); "
                                  r".*labels\.ravel\(\)"),
    (np.arange(N) % 3, "labels must lie in 0..1 for 2 classes, got 2; give each image"),
    (torch.arange(N) % 3, "labels must lie in 0..1 for 2 classes, got 2"),
    (np.full(N, -1), "labels must lie in 0..1 for 2 classes, got -1"),
    (np.zeros(N), "labels must be integer class indices, got float64"),
]


@pytest.mark.parametrize("labels, match", REPLACED)
def test_assigned_labels_are_checked_as_the_constructor_checks_them(labels, match):
    ds = _dataset()
    with pytest.raises(InputError, match=match):
        ds.labels = labels
    assert ds.labels.tolist() == (np.arange(N) % 2).tolist()  # the old labels are kept


def test_assigned_labels_that_fit_are_kept_as_a_long_tensor():
    ds = _dataset()
    ds.labels = [1, 0] * (N // 2)  # a list, as the constructor takes it
    assert ds.labels.dtype == torch.long and ds.labels.tolist() == [1, 0] * (N // 2)
    assert ds[0][1] == 1


def test_assigned_classes_must_still_name_every_label():
    ds = _dataset()
    with pytest.raises(InputError, match="labels must lie in 0..0 for 1 classes, got 1"):
        ds.classes = ["dark"]
    with pytest.raises(InputError, match="class name 'a' appears 2 times"):
        ds.classes = ["a", "a"]
    ds.classes = ["black", "white"]
    assert ds.classes == ["black", "white"]


def test_fit_refuses_labels_reduced_to_one_class(no_model_built):
    ds = _dataset()
    ds.labels = np.zeros(N, np.int64)  # valid indices, but a classifier of one class
    with pytest.raises(InputError, match=r"only one class \('dark'\) in the training labels"):
        _classifier().fit(ds)


@pytest.mark.parametrize("which", ["train", "valid"])
def test_fit_rechecks_labels_changed_in_place(no_model_built, which):
    """``ds.labels[0] = 5`` goes past the setter: fit runs the checks again, before any model
    is built (it was IndexError 'Target 5 is out of bounds' from inside the training loop)."""
    train, valid = _dataset(), _dataset()
    (train if which == "train" else valid).labels[0] = 5
    with pytest.raises(InputError, match=rf"^{which}: labels must lie in 0..1 for 2 classes, "
                                         "got 5"):
        _classifier().fit(train, valid)


def test_fit_rechecks_images_replaced_with_another_count(no_model_built):
    ds = _dataset()
    ds.images = ds.images[: N - 1]
    with pytest.raises(InputError, match=rf"^train: {N - 1} images but {N} labels"):
        _classifier().fit(ds)


def test_check_passes_an_intact_data_set_and_returns_it():
    ds = _dataset()
    assert ds.check() is ds


def test_evaluate_rechecks_labels_changed_in_place():
    clf = _classifier().fit(_dataset())
    ds = _dataset()
    ds.labels[-1] = 2
    with pytest.raises(InputError, match="labels must lie in 0..1 for 2 classes, got 2"):
        clf.evaluate(ds)
    assert 0.0 <= clf.evaluate(_dataset()).top1 <= 1.0
