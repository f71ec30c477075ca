"""The named image sets and image folders as (train, test) data sets.

Named sets (the names ``dlcourse data list`` shows): ``cifar-10`` and ``cifar-100`` (download
into the dlcourse cache; online only; the old ``cifar10`` is accepted with a note),
``fashion-mnist`` (offline, 60k/10k 28x28 grey), ``mnist-5k`` (offline, 5,000 28x28 grey
split 80/20 by seed), or any directory in ``ImageFolder`` layout (``DIR/train/<class>/*.jpg`` and
``DIR/val/<class>/*`` (or ``test/``), or one ``DIR/<class>/*`` split by seed), decoded by
:mod:`dlcourse.vision.images`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlcourse.errors import DataUnavailableError, DlcourseError
from dlcourse.vision.data import ArrayImageDataset, split_stratified

NAMED_SETS = ("cifar-10", "cifar-100", "fashion-mnist", "mnist-5k")
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(d) for d in range(10)]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]
# the class names of each named set where they are known without its files (CIFAR-100's 100
# names come with its download)
NAMED_CLASSES: dict[str, list[str] | int] = {
    "cifar-10": CIFAR10_CLASSES, "cifar-100": 100, "fashion-mnist": FASHION_MNIST_CLASSES,
    "mnist-5k": DIGIT_CLASSES}


def _cifar(name: str):
    """CIFAR-10/100 via the data layer (download + checksum into the cache), read by torchvision."""
    from torchvision import datasets

    from dlcourse.data import fetch

    root = fetch(name)                                   # DataUnavailableError offline
    cls = datasets.CIFAR10 if name == "cifar-10" else datasets.CIFAR100
    out = []
    for train in (True, False):
        try:
            tv = cls(root=str(root), train=train, download=False)
        except RuntimeError as exc:  # torchvision's integrity check of the extracted batches
            raise DataUnavailableError(f"{name} files in {root} are incomplete ({exc}); delete the "
                                       "folder and run again to download them") from None
        out.append(ArrayImageDataset(tv.data, np.asarray(tv.targets), tv.classes))
    return out[0], out[1]


def _named(key: str, seed: int) -> tuple[ArrayImageDataset, ArrayImageDataset]:
    """(train, test) of the named set ``key`` (mnist-5k split by ``seed``)."""
    from dlcourse.data.readers import read_fashion_mnist, read_mnist_5k

    if key in ("cifar-10", "cifar-100"):
        return _cifar(key)
    if key == "fashion-mnist":
        x, y = read_fashion_mnist("train")
        xt, yt = read_fashion_mnist("test")
        return (ArrayImageDataset(x, y, FASHION_MNIST_CLASSES),
                ArrayImageDataset(xt, yt, FASHION_MNIST_CLASSES))
    x, y = read_mnist_5k()
    tr, te = split_stratified(y, 0.2, seed)
    return (ArrayImageDataset(x[tr], y[tr], DIGIT_CLASSES),
            ArrayImageDataset(x[te], y[te], DIGIT_CLASSES))


def named_set(name: str) -> str | None:
    """The registry name of a named image set, or None when ``name`` is none (it may then be a
    folder). Old spellings (``cifar10``) map to the new ones with a one-line note.

    Example:
        >>> named_set("fashion-mnist"), named_set("photos/")
        ('fashion-mnist', None)
    """
    from dlcourse.data import ALIASES, canonical_name

    key = name.strip().lower()
    if key in NAMED_SETS:
        return key
    if key == "mnist":             # the lesson's old shorthand
        return "mnist-5k"
    if ALIASES.get(key) in NAMED_SETS:
        return canonical_name(key)
    return None


def peek_classes(name: str, whole: bool = False) -> tuple[int, list[str] | None]:
    """(number of classes, their names) of a named set or image folder, known before any image
    is read or decoded: from the set's name or the folder's listing. The names are None where
    only the data files hold them (cifar-100). ``whole``: the folder's images are all to be
    scored, not split for training (one class is then enough).

    Args:
        name: a named set (as :func:`load_named` takes it) or an image folder's path.
        whole: for a folder, take all its images as ones to score (ignored for named sets).

    Raises:
        DlcourseError: as :func:`load_named` would before decoding (an unknown name, a folder
            laid out wrongly, see :func:`~dlcourse.vision.images.scan_image_folder`).

    Example:
        >>> peek_classes("mnist-5k")
        (10, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
    """
    key = named_set(name)
    if key is not None:
        known = NAMED_CLASSES[key]
        return (known, None) if isinstance(known, int) else (len(known), list(known))
    path = Path(name).expanduser()
    if not path.exists():
        raise DlcourseError(f"unknown data set {name!r}; choose one of {', '.join(NAMED_SETS)} "
                            "or give an image folder that exists")
    from dlcourse.vision.images import scan_image_folder

    classes = scan_image_folder(path, whole=whole).classes
    return len(classes), classes


def load_named(name: str, *, size: int = 64, seed: int = 0, on_bad: str = "skip",
               num_workers: int | None = None, with_train: bool = True, whole: bool = False):
    """Load a named data set or an image folder as (train, test) :class:`ArrayImageDataset`.

    ``name`` is one of cifar-10, cifar-100, fashion-mnist, mnist-5k (the ``dlcourse data list``
    names; old spellings such as ``cifar10`` are accepted with a note), or a directory (see
    :func:`load_image_folder`; ``size``, ``on_bad`` and ``num_workers`` apply to folders only,
    the named sets keep their native size and are resized per batch). ``with_train=False``
    gives None in the training set's place (a folder's training images are not decoded);
    with it, ``whole=True`` makes every image of a folder of class folders a test image.

    Args:
        name: a named set (cifar-10, cifar-100, fashion-mnist, mnist-5k) or a folder's path.
        size: side in pixels a folder's images are decoded to (folders only).
        seed: the split of mnist-5k (80/20) and of a folder without train/ and val/.
        on_bad: unreadable files of a folder: ``"skip"`` them (logged) or ``"stop"`` (raise).
        num_workers: decoding processes for a folder; None: one per core (up to 8) for large
            folders.
        with_train: also load the training set; False gives None in its place.
        whole: a folder's images all in the test set (with ``with_train=False``; folders only).

    Raises:
        DataUnavailableError: a download is needed and fails (CIFAR offline).
        DlcourseError: an unknown name that is not a directory either.
    """
    key = named_set(name)
    if key is not None:
        train, test = _named(key, seed)
        return (train if with_train else None), test
    path = Path(name).expanduser()
    if path.exists():
        from dlcourse.vision.images import load_image_folder

        return load_image_folder(path, size, seed=seed, on_bad=on_bad, num_workers=num_workers,
                                 with_train=with_train, whole=whole)
    raise DlcourseError(f"unknown data set {name!r}; choose one of {', '.join(NAMED_SETS)} "
                        "or give an image folder that exists")
