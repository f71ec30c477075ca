"""Image files: decoding (in parallel for large folders), unreadable files, ImageFolder layouts.

Files are decoded once, resized (shorter side) and centre-cropped to the training resolution,
and kept in memory as one uint8 :class:`~dlcourse.vision.data.ArrayImageDataset`
(:func:`square_images` treats pixel arrays the same way); worker processes share the
decoding of large folders (the order of the images never depends on them).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from dlcourse.errors import InputError, MissingFileError, check_choice
from dlcourse.vision.data import ArrayImageDataset, split_stratified
from dlcourse.vision.named_sets import NAMED_SETS
from dlcourse.vision.workers import decode_workers

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")
ON_BAD = ("skip", "stop")
MIN_PER_CLASS_TO_SPLIT = 2    # one training and one validation image
SPLIT_FOLDERS = ("train", "val", "valid", "test")


def load_image(path: str | Path, size: int | None = None) -> torch.Tensor:
    """Read an image file as uint8 RGB (3, H, W); with ``size``, resized (shorter side) and
    centre-cropped to ``size`` x ``size``.

    Args:
        path: the image file (any format PIL reads; 16-bit and float pixels scaled to 8 bits).
        size: side in pixels of the square result; None: the file's own size, uncropped.

    Raises:
        InputError: the file is missing, a folder, unreadable or truncated (message names
            the path).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if path.is_dir():
        raise InputError(f"image {path} is a folder, not an image file; pass the image "
                         "files in it")
    try:
        with warnings.catch_warnings():
            # PIL warns above 89 MP (a "decompression bomb") when it opens the file; we resize
            # anyway, and refuse above 179 MP (DecompressionBombError) as an unreadable file
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            arr = _pixels(Image.open(path), size)            # (H, W, 3) uint8
    except FileNotFoundError:
        raise MissingFileError(f"image {path} does not exist; check the path") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"cannot read image {path}: {reason}; "
                         "replace or delete the file") from None
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)     # (3, H, W)


def _pixels(opened, size: int | None) -> np.ndarray:
    """The pixels (H, W, 3) uint8 of an opened image: RGB, resized so that the shorter side is
    ``size``, centre-cropped to ``size`` x ``size``."""
    with opened as im:
        im = _eight_bit(im).convert("RGB")               # forces a full decode
        if size is not None:
            im = _square(im, size)
        return np.asarray(im, dtype=np.uint8)


def _square(im, size: int):
    """The PIL image ``im`` resized so that its shorter side is ``size`` and centre-cropped to
    ``size`` x ``size`` (returned as it is when it has that size already)."""
    from PIL import Image

    w, h = im.size
    if (w, h) == (size, size):
        return im
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    im = im.resize((nw, nh), Image.Resampling.BILINEAR)
    left, top = (nw - size) // 2, (nh - size) // 2
    return im.crop((left, top, left + size, top + size))


def square_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 images (B, C, H, W), C = 1 or 3, resized and centre-cropped to (B, C, size, size)
    exactly as :func:`load_image` treats a file's pixels, so that an image predicted from its
    pixels gets the prediction its file gets. Images of that size already come back as they are.
    """
    if images.shape[-2:] == (size, size):
        return images
    from PIL import Image

    out = []
    for image in images.cpu().numpy():                   # (C, H, W)
        # (H, W) for grey: PIL has no one-channel (H, W, 1) image
        pixels = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
        square = np.asarray(_square(Image.fromarray(pixels), size), dtype=np.uint8)
        out.append(square[None] if square.ndim == 2 else square.transpose(2, 0, 1))
    return torch.from_numpy(np.stack(out))


def _eight_bit(im):
    """``im`` with 16-bit or float pixels scaled to 8 bits: PIL's ``convert("RGB")`` clips
    them at 255, so a 16-bit greyscale PNG came out pure white."""
    from PIL import Image

    if im.mode not in ("I", "F") and not im.mode.startswith("I;16"):
        return im
    values = np.asarray(im, dtype=np.float64)  # (H, W)
    top = float(values.max()) if values.size else 0.0
    # 16-bit data (I;16*, or a 16-bit PNG opened as I): 65535 is white; other ranges to their
    # maximum, which is white
    full = 65535.0 if im.mode.startswith("I;16") or 255 < top <= 65535 else max(top, 255.0)
    scaled = np.clip(values * (255.0 / full), 0, 255)
    return Image.fromarray(np.round(scaled).astype(np.uint8), "L")


@dataclass
class BadImages:
    """Images that could not be read when a folder was loaded."""

    paths: list[Path]
    reasons: list[str]

    def report(self, total: int, what: str = "files") -> None:
        """Warn about each unreadable file and their count (of the ``total`` ``what``, e.g.
        ``"training files"``); under torchrun rank 0 alone, since every process reads the same
        files."""
        from dlcourse.engine.distributed import is_main_process

        if not is_main_process():
            return
        for reason in self.reasons:
            log.warning("skipped: %s", reason)
        if self.paths:
            log.warning("skipped %d unreadable image(s) of the %d %s", len(self.paths), total,
                        what)


class _ImageFiles(Dataset):
    """Image files decoded one by one: (image or None, the reason it could not be read)."""

    def __init__(self, paths: Sequence[Path], size: int):
        self.paths, self.size = list(paths), size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor | None, str]:
        try:
            return load_image(self.paths[i], self.size), ""
        except InputError as exc:
            return None, str(exc)


def _as_list(batch: list) -> list:
    return batch


def _decoded(paths: Sequence[Path], size: int, num_workers: int):
    """(image or None, reason) per file, in the order of ``paths`` whatever ``num_workers``."""
    files = _ImageFiles(paths, size)
    if num_workers == 0:
        yield from (files[i] for i in range(len(files)))
        return
    from torch.utils.data import DataLoader

    loader = DataLoader(files, batch_size=16, num_workers=num_workers, collate_fn=_as_list)
    for batch in loader:
        yield from batch


def load_image_files(paths: Sequence[Path], size: int, on_bad: str = "skip",
                     num_workers: int | None = None, what: str = "files", report: bool = True):
    """Decode image files to a uint8 tensor (N, 3, size, size).

    Args:
        num_workers: decoding processes (None: :func:`decode_workers`); the result is the same.
        what: the files' name in the message when none is readable ("training files").
        report: log the unreadable files (``bad.report``) here; False leaves it to a caller
            that checks more first, so that a refusal is its one error line.

    Returns:
        ``(images, kept_indices, bad)``: with ``on_bad="skip"`` unreadable files are left out
        (logged with their path, counted in ``bad``); with ``"stop"`` the first one raises
        DlcourseError naming it.
    """
    check_choice("on_bad", on_bad, ON_BAD)
    images, kept, bad = [], [], BadImages([], [])
    workers = decode_workers(len(paths), num_workers)
    for i, (image, reason) in enumerate(_decoded(paths, size, workers)):
        if image is not None:
            images.append(image)
            kept.append(i)
            continue
        if on_bad == "stop":
            raise InputError(f"{reason} (or skip bad files: on_bad='skip', --on-bad skip)")
        bad.paths.append(Path(paths[i]))
        bad.reasons.append(reason)
    if not images:
        where = f"; the first: {bad.reasons[0]}" if bad.reasons else ""
        raise InputError(f"no readable images among the {len(paths)} {what}{where}")
    if report:
        bad.report(len(paths), what)
    return torch.stack(images), kept, bad


def _subfolders(root: Path) -> list[str]:
    """The names of ``root``'s folders (hidden ones left out), sorted."""
    return sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))


def _scan_class_dir(root: Path, one_class: bool = False
                    ) -> tuple[list[Path], list[int], list[str]]:
    """Image files and labels of ``root/<class>/...``; refuses an empty class folder, or a
    single class unless ``one_class`` (images to score, not to train on), before anything is
    decoded."""
    classes = _subfolders(root)
    if not classes:
        raise InputError(f"{root} has no class subfolders; "
                         f"lay images out as {root}/<class>/*.jpg")
    paths, labels = [], []
    for k, name in enumerate(classes):
        files = [p for p in sorted((root / name).rglob("*"))
                 if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
        if not files:
            raise InputError(f"class folder {root / name} holds no image files "
                             f"({', '.join(IMAGE_EXTENSIONS)}); add images or remove it")
        paths.extend(files)
        labels.extend([k] * len(files))
    if len(classes) < 2 and not one_class:
        raise InputError(f"{root} has one class folder ({classes[0]}); a classifier needs at "
                         f"least 2: add {root}/<another class>/ with images")
    return paths, labels, classes


def _check_split(root: Path, labels: list[int], classes: list[str]) -> None:
    """Every class needs one training and one validation image when ``root`` is split."""
    counts = np.bincount(labels, minlength=len(classes))
    k = int(np.argmin(counts))
    if counts[k] < MIN_PER_CLASS_TO_SPLIT:
        raise InputError(
            f"class folder {root / classes[k]} holds only {counts[k]} image file(s); splitting "
            f"{root} into training and validation images needs at least "
            f"{MIN_PER_CLASS_TO_SPLIT} per class: add images, or lay out {root}/train/<class>/ "
            f"and {root}/val/<class>/")


def _check_both_splits(root: Path) -> None:
    """``root/train/`` alone (or ``root/val/`` alone) is half of a train/val layout, not a
    single class: say which half is missing."""
    folders = _subfolders(root)
    if len(folders) != 1 or folders[0] not in SPLIT_FOLDERS:
        return
    if folders[0] == "train":
        raise InputError(
            f"{root} holds train/ but no val/ (or valid/, test/) beside it: add "
            f"{root}/val/<class>/ with validation images, or move the class folders of "
            f"{root}/train up into {root} to split them by seed")
    raise InputError(f"{root} holds {folders[0]}/ but no train/ beside it: add "
                     f"{root}/train/<class>/ with training images")


def _check_classes_kept(train: ArrayImageDataset, bad: BadImages) -> None:
    """A class whose training files were all unreadable cannot be learned: say which."""
    counts = np.bincount(train.labels.numpy(), minlength=len(train.classes))
    empty = [c for c, n in zip(train.classes, counts) if n == 0]
    if empty:
        # its own files (a class is a folder on their path): the first skipped file was
        # another class's, and the count everyone's
        mine = [i for i, path in enumerate(bad.paths) if empty[0] in Path(path).parts]
        seen = (f"{len(mine)} unreadable file(s) skipped, e.g. {bad.reasons[mine[0]]}" if mine
                else "no image file was found in it")
        raise InputError(f"class {empty[0]!r} has no readable training image ({seen}); add "
                         "images of it")


@dataclass
class FolderFiles:
    """The image files of an ``ImageFolder`` layout, listed and checked, none decoded."""

    classes: list[str]
    train: tuple[list[Path], list[int]]     # (paths, labels)
    valid: tuple[list[Path], list[int]]


def scan_image_folder(root: str | Path, *, valid_fraction: float = 0.2,
                      seed: int = 0, whole: bool = False) -> FolderFiles:
    """List an image folder as :func:`load_image_folder` reads it, decoding nothing: the class
    names, and the training and validation files (``root/train`` with ``root/val``, or the
    class folders under ``root`` split by ``seed``; ``whole``: all of them validation files).

    Args:
        root: the folder, ``root/train/<class>/`` with ``root/val/<class>/`` or ``root/<class>/``.
        valid_fraction: share of each class held out for validation when splitting, in (0, 1).
        seed: which files the split holds out.
        whole: every file a validation file, one class allowed (images to score).

    Raises:
        InputError: every refusal :func:`load_image_folder` makes before decoding.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root} is not a directory; give {', '.join(NAMED_SETS)} or an "
                         "image folder")
    train_dir = root / "train"
    valid_dir = next((root / n for n in ("val", "valid", "test") if (root / n).is_dir()), None)
    if train_dir.is_dir() and valid_dir is not None:
        tp, tl, classes = _scan_class_dir(train_dir)
        vp, vl, vclasses = _scan_class_dir(valid_dir)
        if vclasses != classes:
            raise InputError(f"{valid_dir} has classes {vclasses} but {train_dir} has {classes}")
        return FolderFiles(classes, (tp, tl), (vp, vl))
    _check_both_splits(root)
    paths, labels, classes = _scan_class_dir(root, one_class=whole)
    if whole:
        return FolderFiles(classes, ([], []), (paths, labels))
    _check_split(root, labels, classes)
    tr, va = split_stratified(np.asarray(labels), valid_fraction, seed)
    return FolderFiles(classes, ([paths[i] for i in tr], [labels[i] for i in tr]),
                       ([paths[i] for i in va], [labels[i] for i in va]))


def load_image_folder(root: str | Path, size: int = 64, *, valid_fraction: float = 0.2,
                      seed: int = 0, on_bad: str = "skip", num_workers: int | None = None,
                      with_train: bool = True, whole: bool = False):
    """Load an ``ImageFolder``-style directory into (train, valid) :class:`ArrayImageDataset`.

    ``root/train`` with ``root/val`` (or ``valid``/``test``) are used as given; otherwise the class
    folders under ``root`` are split by ``seed`` (stratified, ``valid_fraction`` held out). Images
    are decoded once, resized (shorter side) and centre-cropped to ``size``; set ``size`` to the
    training resolution or a little above it. Unreadable files: see :func:`load_image_files`;
    the paths skipped are in each data set's ``skipped``. ``num_workers``: decoding processes
    (see :func:`decode_workers`). ``with_train=False`` decodes the validation images only
    (None in the training set's place): what evaluating a model needs; ``whole=True`` (with it)
    takes every image of the class folders under ``root`` as validation images: a folder the
    model did not train on.

    Args:
        root: the folder, as :func:`scan_image_folder` takes it.
        size: side in pixels the images are decoded to (shorter side resized, centre-cropped).
        valid_fraction: share of each class held out when splitting, in (0, 1).
        seed: which files the split holds out.
        on_bad: ``"skip"`` unreadable files (logged) or ``"stop"`` at the first (InputError).
        num_workers: decoding processes; None: :func:`decode_workers` decides.
        with_train: also decode the training images; False: None in their place.
        whole: all images validation images; needs ``with_train=False``.

    Raises:
        InputError: before decoding (:func:`scan_image_folder`), a folder without class
            subfolders, train/ without val/ (or the reverse), an empty class folder, a single
            class (unless ``whole``: new photos of one class are scored), or (to split) a class
            with fewer than 2 image files; after it, a class left
            without readable training images (the message names the fix).
    """
    if whole and with_train:
        raise InputError("whole=True reads every image as a validation image: pass "
                         "with_train=False")
    files = scan_image_folder(root, valid_fraction=valid_fraction, seed=seed, whole=whole)
    train = None
    if with_train:
        train, bad = _decode(*files.train, files.classes, size, on_bad, num_workers,
                             "training files")
        _check_classes_kept(train, bad)  # a refusal is one error line: the warnings come after
        bad.report(len(files.train[0]), "training files")
    what = "files" if whole else "validation files"
    valid, bad = _decode(*files.valid, files.classes, size, on_bad, num_workers, what)
    bad.report(len(files.valid[0]), what)
    return train, valid


def _decode(paths, labels, classes, size, on_bad, num_workers, what):
    images, kept, bad = load_image_files(paths, size, on_bad, num_workers, what, report=False)
    ds = ArrayImageDataset(images, np.asarray(labels)[kept], classes)
    ds.skipped = bad.paths
    return ds, bad
