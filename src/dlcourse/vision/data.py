"""Image data sets for transfer learning: in-memory arrays, their checks, class-balanced splits.

Every data set yields ``(image, label)`` with ``image`` a uint8 tensor (C, H, W), C = 1 or 3, so
that decoding happens once and resizing, grey-to-RGB, augmentation and normalisation run on whole
batches on the training device (see :mod:`dlcourse.vision.transforms`). The named sets and image
folders are loaded by :mod:`dlcourse.vision.named_sets`.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from dlcourse.engine.config import whole_number
from dlcourse.errors import InputError
from dlcourse.text.labels import check_labels as check_label_values


class ArrayImageDataset(Dataset):
    """Images held in memory as one uint8 tensor.

    Args:
        images: uint8 array (N, H, W) grey, (N, H, W, C) channels-last or (N, C, H, W).
        labels: int array (N,) of class indices.
        classes: class names, ``classes[label]``, each given once.

    Raises:
        InputError: images that are not uint8 (N, H, W), (N, H, W, C) or (N, C, H, W); labels
            that are not one integer per image in ``0..len(classes)-1``; class names that are
            not distinct strings. The message names the argument and the fix. Assigning
            ``ds.labels`` or ``ds.classes`` later runs the same checks, and ``check()`` (which
            ``ImageClassifier.fit`` and ``evaluate`` call) runs them on what it holds now.

    Example:
        >>> ds = ArrayImageDataset(np.zeros((4, 28, 28), np.uint8), np.arange(4), list("abcd"))
        >>> ds[1][0].shape, ds[1][1]
        (torch.Size([1, 28, 28]), 1)
    """

    def __init__(self, images, labels, classes: Sequence[str]):
        # names first: the label range and the messages below depend on how many there are
        self.classes = classes
        x = image_batch(images)
        self.images = x.contiguous()
        self.labels = labels
        self.skipped: list[Path] = []      # unreadable files left out when loading a folder

    @property
    def classes(self) -> list[str]:
        """The class names, ``classes[label]``; a new list is checked as the constructor checks
        it (distinct strings, and every label still in range)."""
        return self._classes

    @classes.setter
    def classes(self, value: Sequence[str]) -> None:
        names = check_class_names(value)
        if "_labels" in self.__dict__:  # replaced after construction: the labels must still fit
            check_labels(self._labels, len(self._labels), len(names))
        self._classes = names

    @property
    def labels(self) -> torch.Tensor:
        """The class indices, a long tensor (N,); a new value is checked as the constructor
        checks it (one integer per image in ``0..len(classes)-1``), so ``ds.labels = y`` with
        another length, a column (N, 1) or an index past the class names fails right there."""
        return self._labels

    @labels.setter
    def labels(self, value) -> None:
        self._labels = check_labels(value, len(self.images), len(self.classes))

    def check(self) -> ArrayImageDataset:
        """Run the constructor's checks again on what the data set holds now (``fit`` and
        ``evaluate`` do, before any work): labels changed in place (``ds.labels[0] = 7``) or
        images replaced with another count are caught here. Returns ``self``.

        Raises:
            InputError: as the constructor would, naming the argument and the fix.
        """
        check_class_names(self._classes)
        if not (torch.is_tensor(self.images) and self.images.dtype == torch.uint8
                and self.images.dim() == 4 and self.images.shape[1] in (1, 3)):
            got = (f"{self.images.dtype} {tuple(self.images.shape)}"
                   if torch.is_tensor(self.images) else type(self.images).__name__)
            raise InputError(f"images must be a uint8 tensor (N, C, H, W), C = 1 or 3, got {got}; "
                             "build a new data set, ArrayImageDataset(images, labels, classes), "
                             "rather than replacing ds.images")
        check_labels(self._labels, len(self.images), len(self._classes))
        return self

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i], int(self.labels[i])

    def fingerprint(self) -> str:
        """A hash of pixels, labels and classes: the key of the feature cache."""
        h = hashlib.sha1()
        h.update(self.images.numpy().tobytes())
        h.update(self.labels.numpy().tobytes())
        h.update("\n".join(self.classes).encode())
        return h.hexdigest()[:16]

    def subset(self, indices) -> ArrayImageDataset:
        """A new data set holding the images at ``indices``.

        Args:
            indices: integer positions (n,) into the data set, a sequence or array (repeats
                and negative positions index as in torch), or a boolean mask (len(self),).

        Raises:
            InputError: a mask of another length, or positions that are not integers.
        """
        given = np.asarray(indices)
        if given.dtype == bool:  # as_tensor(long) would read True/False as positions 1 and 0
            if given.shape != (len(self),):
                raise InputError(f"a boolean mask selects among the {len(self)} images, one "
                                 f"value each; got shape {given.shape}")
            given = np.flatnonzero(given)
        elif given.size and given.dtype.kind not in "iu":
            raise InputError(f"indices must be integer positions or a boolean mask, got "
                             f"{given.dtype} values")
        idx = torch.as_tensor(given, dtype=torch.long)
        return ArrayImageDataset(self.images[idx], self.labels[idx], self.classes)


def image_batch(images, *, labelled: bool = True) -> torch.Tensor:
    """``images`` as one uint8 tensor (N, C, H, W), C = 1 or 3: a numpy array or tensor (N, H, W)
    grey, (N, H, W, C) channels-last or (N, C, H, W).

    ``labelled``: the images come with one label each (a data set), so an array (3, H, W) is
    three grey images. Unlabelled (``labelled=False``, as ``ImageClassifier.predict`` passes
    them) such an array is refused: it is just as likely one colour image channels-first, as
    ``torchvision.io.read_image`` returns it. A list of images is a batch either way.

    Raises:
        InputError: not uint8 pixels, or of another shape (the message says what to give).
    """
    shape = tuple(getattr(images, "shape", ()))
    if not labelled and len(shape) == 3 and shape[0] == 3:
        raise _channels_first_error(shape, torch.is_tensor(images))
    if torch.is_tensor(images):  # np.asarray cannot read a CUDA tensor
        images = images.detach().cpu().numpy()
    try:
        arr = np.asarray(images)
    except ValueError:  # numpy's "inhomogeneous shape": images of different sizes
        arr = None
    if arr is None or arr.dtype == object:
        raise InputError(f"images must be one uint8 array of equal-sized images, got "
                         f"{type(images).__name__}; bring them to one size and stack them, "
                         "e.g. np.stack(images)")
    if arr.dtype != np.uint8:
        raise InputError(f"images must be uint8 pixels 0-255, got {arr.dtype}; scale and "
                         "convert them, e.g. (x * 255).astype(np.uint8) for floats in 0-1")
    x = torch.from_numpy(arr if arr.flags.writeable else arr.copy())
    if x.dim() == 3 and x.shape[-1] in (3, 4) and x.shape[1] > 4:
        # (H, W, 3) is one colour image, which (N, H, W) would read as H grey images
        raise InputError(f"images of shape {tuple(x.shape)} would be {x.shape[0]} grey "
                         f"images {x.shape[2]} pixels wide; pass one colour image as a "
                         f"batch of one, images[None] of shape {(1, *x.shape)}")
    if x.dim() == 3:
        x = x[:, None]                                   # (N, 1, H, W)
    elif x.dim() == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.permute(0, 3, 1, 2)                        # (N, H, W, C) -> (N, C, H, W)
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise InputError("images must be (N,H,W), (N,H,W,C) or (N,C,H,W); "
                         f"got {tuple(x.shape)}")
    return x


def _channels_first_error(shape: tuple[int, ...], tensor: bool) -> InputError:
    """The InputError for unlabelled images (3, H, W): one colour image or three grey ones."""
    _, h, w = shape
    # the conversion to channels-last, spelled for a tensor or a numpy array
    last = "permute(1, 2, 0)" if tensor else "transpose(1, 2, 0)"
    return InputError(
        f"images of shape (3, {h}, {w}) may be one colour image channels-first (as "
        "torchvision.io.read_image gives) or 3 grey images; give a batch, (B, C, H, W), "
        f"(B, H, W, C) or grey (B, H, W): one colour image as images[None] (1, 3, {h}, {w}) "
        f"or images.{last}[None] (1, {h}, {w}, 3), three grey images as images[:, None] "
        f"(3, 1, {h}, {w})")


def check_class_names(classes) -> list[str]:
    """``classes`` as a list of distinct plain strings, ``classes[label]`` naming a class.

    Raises:
        InputError: not a list of strings, empty, or a name given twice (named).
    """
    if isinstance(classes, str | bytes) or not isinstance(classes, Iterable):
        got = f"str {classes!r}" if isinstance(classes, str) else type(classes).__name__
        raise InputError(f"classes must be a list of class names, got {got}; give one name "
                         "per class, e.g. ['cat', 'dog']")
    names = list(classes)
    if not names:
        raise InputError("classes is empty; give one name per class, e.g. ['cat', 'dog']")
    for i, name in enumerate(names):
        # the names are hashed, saved as JSON and printed with predictions: text only
        if not isinstance(name, str):
            raise InputError(f"classes[{i}] is {type(name).__name__} {name!r}; class names "
                             "must be strings, e.g. [str(c) for c in classes]")
    seen: set[str] = set()
    for name in names:
        # two outputs with one name: a prediction could not say which class it meant
        if name in seen:
            raise InputError(f"class name {name!r} appears {names.count(name)} times in "
                             "classes; give each class its own name")
        seen.add(name)
    return [str(name) for name in names]  # np.str_ -> str


def labelled_images(images, labels) -> tuple[ArrayImageDataset, np.ndarray]:
    """``images`` and their ``labels`` as scikit-learn hands them to ``fit(X, y)``: an
    :class:`ArrayImageDataset` whose classes are the sorted distinct labels (as text), and
    those labels as they were given (names, integers such as 3 and 7 or -1 and 1, floats,
    bools), as scikit-learn's classifiers keep them in ``classes_``.

    Raises:
        InputError: labels that are not 1-D; as :func:`dlcourse.text.labels.check_labels` (a
            missing label, numbers and strings mixed) and the constructor (not one label per
            image) refuse them.
    """
    y = labels.detach().cpu().numpy() if torch.is_tensor(labels) else np.asarray(labels)
    if y.ndim != 1:
        raise InputError(f"labels must be 1-D, one per image, got shape {y.shape}; flatten a "
                         "column with labels.ravel(), turn one-hot rows into indices with "
                         "labels.argmax(1)")
    check_label_values(y.tolist())  # the rules every lesson's labels follow
    if y.dtype.kind == "O" and all(isinstance(v, str) for v in y):
        y = y.astype(str)  # a list of names read as objects: names, compared as text
    values, indices = np.unique(y, return_inverse=True)
    return ArrayImageDataset(images, indices, [str(v) for v in values.tolist()]), values


def check_labels(labels, n_images: int, n_classes: int) -> torch.Tensor:
    """``labels`` as a long tensor (N,) of class indices in ``0..n_classes-1``."""
    if torch.is_tensor(labels):
        labels = labels.detach().cpu().numpy()
    y = np.asarray(labels)
    if y.ndim != 1:
        # a column (N, 1) was taken and broke cross_entropy, or trained on wrong targets
        raise InputError(f"labels must be a 1-D array of class indices, one per image (shape "
                         f"({n_images},)), got shape {y.shape}; flatten a column with "
                         "labels.ravel(), turn one-hot rows into indices with labels.argmax(1)")
    if y.dtype.kind not in "iu" and not (y.size == 0 and y.dtype.kind == "f"):
        raise InputError(f"labels must be integer class indices, got {y.dtype}; map "
                         "names to indices, e.g. [classes.index(name) for name in names]")
    if len(y) != n_images:
        raise InputError(f"{n_images} images but {len(y)} labels; give one label per image")
    if len(y):
        bad = y[(y < 0) | (y >= n_classes)]
        if len(bad):
            raise InputError(f"labels must lie in 0..{n_classes - 1} for {n_classes} classes, "
                             f"got {bad[0]}; give each image the index of its class in classes")
    return torch.as_tensor(y.astype(np.int64, copy=False), dtype=torch.long)


def split_stratified(labels: np.ndarray, valid_fraction: float, seed: int):
    """Indices (train, valid), ``valid_fraction`` of every class held out, chosen by ``seed``."""
    if not 0.0 < valid_fraction < 1.0:
        raise InputError(f"valid_fraction must lie in (0, 1), got {valid_fraction}")
    rng = np.random.default_rng(seed)
    train, valid = [], []
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        n_valid = max(1, round(len(idx) * valid_fraction)) if len(idx) > 1 else 0
        valid.extend(idx[:n_valid])
        train.extend(idx[n_valid:])
    return np.sort(np.asarray(train, dtype=np.int64)), np.sort(np.asarray(valid, dtype=np.int64))


def stratified_subset(ds: ArrayImageDataset, n: int, seed: int = 0) -> ArrayImageDataset:
    """``n`` images of ``ds`` with classes as balanced as possible (a learning-curve budget).

    ``n`` is a budget, at most that many: ``len(ds)`` or more keeps all of ``ds`` (returned as
    it is), as ``--limit`` above a set's size does.

    Args:
        ds: the :class:`ArrayImageDataset` to draw from.
        n: the most images to keep, a whole number >= 1.
        seed: seeds the order of the classes and of each class's images (which ones are kept).

    Raises:
        InputError: ``n`` that is not a whole number >= 1 (a negative one sliced from the end,
            0 gave an empty set).
    """
    n = whole_number("n", n, 1, None, "a whole number >= 1, the number of images to keep "
                     "(e.g. 1000; len(ds) or more keeps them all)")
    if n >= len(ds):
        return ds
    from dlcourse.data.readers import balanced_indices

    return ds.subset(balanced_indices(ds.labels.numpy(), n, seed, range(len(ds.classes))))
