"""Image data sets for transfer learning: in-memory arrays, image folders, and the named sets.

Every data set yields ``(image, label)`` with ``image`` a uint8 tensor (C, H, W), C = 1 or 3, so
that decoding happens once and resizing, grey-to-RGB, augmentation and normalisation run on whole
batches on the training device (see :mod:`dlcourse.vision.transforms`).

Named sets: ``cifar10`` and ``cifar100`` (torchvision download into the dlcourse cache; online
only), ``fashion-mnist`` (offline, 60k/10k 28x28 grey), ``mnist-5k`` (offline, 5,000 28x28 grey
split 80/20 by seed), or any directory in ``ImageFolder`` layout (``DIR/train/<class>/*.jpg`` and
``DIR/val/<class>/*`` (or ``test/``), or one ``DIR/<class>/*`` split by seed).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from dlcourse.errors import DataUnavailableError, DlcourseError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")
NAMED_SETS = ("cifar10", "cifar100", "fashion-mnist", "mnist-5k")
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(d) for d in range(10)]
ON_BAD = ("skip", "stop")


class ArrayImageDataset(Dataset):
    """Images held in memory as one uint8 tensor.

    Parameters:
        images: uint8 array (N, H, W) grey, (N, H, W, C) channels-last or (N, C, H, W).
        labels: int array (N,) of class indices.
        classes: class names, ``classes[label]``.

    Example:
        >>> ds = ArrayImageDataset(np.zeros((4, 28, 28), np.uint8), np.arange(4), list("abcd"))
        >>> ds[1][0].shape, ds[1][1]
        (torch.Size([1, 28, 28]), 1)
    """

    def __init__(self, images, labels, classes: Sequence[str]):
        arr = np.asarray(images)
        x = torch.from_numpy(arr if arr.flags.writeable else arr.copy())
        if x.dtype != torch.uint8:
            raise ValueError(f"images must be uint8 pixels 0-255, got {x.dtype}")
        if x.dim() == 3:
            x = x[:, None]                                   # (N, 1, H, W)
        elif x.dim() == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
            x = x.permute(0, 3, 1, 2)                        # (N, H, W, C) -> (N, C, H, W)
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError("images must be (N,H,W), (N,H,W,C) or (N,C,H,W); "
                             f"got {tuple(x.shape)}")
        y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
        if len(y) != len(x):
            raise ValueError(f"{len(x)} images but {len(y)} labels")
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= len(classes)):
            raise ValueError(f"labels must lie in 0..{len(classes) - 1} for {len(classes)} classes")
        self.images = x.contiguous()
        self.labels = y
        self.classes = list(classes)
        self.skipped: list[Path] = []      # unreadable files left out when loading a folder

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
        """A new data set holding the images at ``indices``."""
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        return ArrayImageDataset(self.images[idx], self.labels[idx], self.classes)


def load_image(path: str | Path, size: int | None = None) -> torch.Tensor:
    """Read an image file as uint8 RGB (3, H, W); with ``size``, resized (shorter side) and
    centre-cropped to ``size`` x ``size``.

    Raises:
        DlcourseError: the file is missing, unreadable or truncated (message names the path).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")                           # forces a full decode
            if size is not None:
                w, h = im.size
                scale = size / min(w, h)
                nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
                im = im.resize((nw, nh), Image.Resampling.BILINEAR)
                left, top = (nw - size) // 2, (nh - size) // 2
                im = im.crop((left, top, left + size, top + size))
            arr = np.asarray(im, dtype=np.uint8)             # (H, W, 3)
    except FileNotFoundError:
        raise DlcourseError(f"image {path} does not exist; check the path") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DlcourseError(f"cannot read image {path}: {reason}; "
                            "replace or delete the file") from None
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)     # (3, H, W)


@dataclass
class BadImages:
    """Images that could not be read when a folder was loaded."""

    paths: list[Path]
    reasons: list[str]


def load_image_files(paths: Sequence[Path], size: int, on_bad: str = "skip"):
    """Decode image files to a uint8 tensor (N, 3, size, size).

    Returns ``(images, kept_indices, bad)``: with ``on_bad="skip"`` unreadable files are left out
    (logged with their path, counted in ``bad``); with ``"stop"`` the first one raises
    DlcourseError naming it.
    """
    if on_bad not in ON_BAD:
        raise ValueError(f"unknown on_bad {on_bad!r}; choose one of {', '.join(ON_BAD)}")
    images, kept, bad = [], [], BadImages([], [])
    for i, p in enumerate(paths):
        try:
            images.append(load_image(p, size))
            kept.append(i)
        except DlcourseError as exc:
            if on_bad == "stop":
                raise DlcourseError(f"{exc} (or skip bad files: on_bad='skip', --on-bad skip)"
                                    ) from None
            log.warning("skipping %s", exc)
            bad.paths.append(Path(p))
            bad.reasons.append(str(exc))
    if bad.paths:
        log.warning("skipped %d unreadable image(s) of %d", len(bad.paths), len(paths))
    if not images:
        raise DlcourseError(f"no readable images among {len(paths)} files")
    return torch.stack(images), kept, bad


def _scan_class_dir(root: Path) -> tuple[list[Path], list[int], list[str]]:
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DlcourseError(f"{root} has no class subfolders; "
                            f"lay images out as {root}/<class>/*.jpg")
    paths, labels = [], []
    for k, name in enumerate(classes):
        for p in sorted((root / name).rglob("*")):
            if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
                paths.append(p)
                labels.append(k)
    if not paths:
        raise DlcourseError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) under {root}")
    return paths, labels, classes


def load_image_folder(root: str | Path, size: int = 64, *, valid_fraction: float = 0.2,
                      seed: int = 0, on_bad: str = "skip"):
    """Load an ``ImageFolder``-style directory into (train, valid) :class:`ArrayImageDataset`.

    ``root/train`` with ``root/val`` (or ``valid``/``test``) are used as given; otherwise the class
    folders under ``root`` are split by ``seed`` (stratified, ``valid_fraction`` held out). Images
    are decoded once, resized (shorter side) and centre-cropped to ``size``; set ``size`` to the
    training resolution or a little above it. Unreadable files: see :func:`load_image_files`;
    the paths skipped are in each data set's ``skipped``.
    """
    root = Path(root)
    if not root.is_dir():
        raise DlcourseError(f"{root} is not a directory; give cifar10, cifar100, fashion-mnist, "
                            "mnist-5k or an image folder")
    train_dir = root / "train"
    valid_dir = next((root / n for n in ("val", "valid", "test") if (root / n).is_dir()), None)
    if train_dir.is_dir() and valid_dir is not None:
        tp, tl, classes = _scan_class_dir(train_dir)
        vp, vl, vclasses = _scan_class_dir(valid_dir)
        if vclasses != classes:
            raise DlcourseError(f"{valid_dir} has classes {vclasses} but {train_dir} has {classes}")
    else:
        paths, labels, classes = _scan_class_dir(root)
        tr, va = split_stratified(np.asarray(labels), valid_fraction, seed)
        tp, tl = [paths[i] for i in tr], [labels[i] for i in tr]
        vp, vl = [paths[i] for i in va], [labels[i] for i in va]
    out = []
    for ps, ls in ((tp, tl), (vp, vl)):
        images, kept, bad = load_image_files(ps, size, on_bad)
        ds = ArrayImageDataset(images, np.asarray(ls)[kept], classes)
        ds.skipped = bad.paths
        out.append(ds)
    return out[0], out[1]


def split_stratified(labels: np.ndarray, valid_fraction: float, seed: int):
    """Indices (train, valid), ``valid_fraction`` of every class held out, chosen by ``seed``."""
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must lie in (0, 1), got {valid_fraction}")
    rng = np.random.default_rng(seed)
    train, valid = [], []
    for k in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == k))
        n_valid = max(1, round(len(idx) * valid_fraction)) if len(idx) > 1 else 0
        valid.extend(idx[:n_valid])
        train.extend(idx[n_valid:])
    return np.sort(np.asarray(train, dtype=np.int64)), np.sort(np.asarray(valid, dtype=np.int64))


def stratified_subset(ds: ArrayImageDataset, n: int, seed: int = 0) -> ArrayImageDataset:
    """``n`` images of ``ds`` with classes as balanced as possible (a learning-curve budget)."""
    if n >= len(ds):
        return ds
    rng = np.random.default_rng(seed)
    labels = ds.labels.numpy()
    per_class = [rng.permutation(np.flatnonzero(labels == k)) for k in range(len(ds.classes))]
    # round-robin over classes: equal counts, the remainder to the first classes in random order
    order = [idx[r] for r in range(max(map(len, per_class))) for idx in per_class if r < len(idx)]
    return ds.subset(np.sort(np.asarray(order[:n])))


def _cifar(name: str):
    """CIFAR-10/100 via the data layer (download + checksum into the cache), read by torchvision."""
    from torchvision import datasets

    from dlcourse.data import fetch

    root = fetch("cifar-10" if name == "cifar10" else "cifar-100")   # DataUnavailableError offline
    cls = datasets.CIFAR10 if name == "cifar10" else datasets.CIFAR100
    out = []
    for train in (True, False):
        try:
            tv = cls(root=str(root), train=train, download=False)
        except RuntimeError as exc:  # torchvision's integrity check of the extracted batches
            raise DataUnavailableError(f"{name} files in {root} are incomplete ({exc}); delete the "
                                       "folder and run again to download them") from None
        out.append(ArrayImageDataset(tv.data, np.asarray(tv.targets), tv.classes))
    return out[0], out[1]


def load_named(name: str, *, size: int = 64, seed: int = 0, on_bad: str = "skip"):
    """Load a named data set or an image folder as (train, test) :class:`ArrayImageDataset`.

    ``name`` is one of cifar10, cifar100, fashion-mnist, mnist-5k, or a directory
    (see :func:`load_image_folder`; ``size`` applies to folders only, the named sets keep their
    native size and are resized per batch).

    Raises:
        DataUnavailableError: a download is needed and fails (CIFAR offline).
        DlcourseError: an unknown name that is not a directory either.
    """
    from dlcourse.data.readers import read_fashion_mnist, read_mnist_5k

    key = name.lower()
    if key in ("cifar10", "cifar-10", "cifar100", "cifar-100"):
        return _cifar(key.replace("-", ""))
    if key == "fashion-mnist":
        x, y = read_fashion_mnist("train")
        xt, yt = read_fashion_mnist("test")
        return (ArrayImageDataset(x, y, FASHION_MNIST_CLASSES),
                ArrayImageDataset(xt, yt, FASHION_MNIST_CLASSES))
    if key in ("mnist-5k", "mnist"):
        x, y = read_mnist_5k()
        tr, te = split_stratified(y, 0.2, seed)
        return (ArrayImageDataset(x[tr], y[tr], DIGIT_CLASSES),
                ArrayImageDataset(x[te], y[te], DIGIT_CLASSES))
    path = Path(name).expanduser()
    if path.exists():
        return load_image_folder(path, size, seed=seed, on_bad=on_bad)
    raise DlcourseError(f"unknown data set {name!r}; choose one of {', '.join(NAMED_SETS)} "
                        "or give an image folder that exists")
