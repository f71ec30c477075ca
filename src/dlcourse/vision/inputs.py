"""What ``ImageClassifier`` checks of its inputs before any work: the training data, image
paths given where pixels could be, and ``k``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlcourse.engine.config import whole_number
from dlcourse.errors import InputError
from dlcourse.vision.data import ArrayImageDataset


def path_list(paths) -> list[str | Path] | None:
    """``paths`` as a list of file paths (one path alone is a list of one), or None when it is
    something else (pixels)."""
    if isinstance(paths, str | Path):
        return [paths]
    try:
        files = list(paths)
    except TypeError:
        return None
    return files if all(isinstance(p, str | Path) for p in files) else None


def check_k(k) -> int:
    """``k`` of ``predict_top`` as an int >= 1 (``True`` is no count here)."""
    return whole_number("k", k, 1, None, "an integer >= 1 (the number of classes to list "
                        "per image)")


def check_training_data(train, valid) -> None:
    """Refuse what ``fit`` cannot train on, before the network is built or any image is seen."""
    for name, data in (("train", train), ("valid", valid)):
        if data is None and name == "valid":  # valid is optional, train is not
            continue
        if not isinstance(data, ArrayImageDataset):
            raise InputError(f"{name} must be an ArrayImageDataset (from dlcourse.vision's "
                             "load_named or load_image_folder), got "
                             f"{type(data).__name__}"
                             + ("; or give images with their labels, fit(images, labels)"
                                if name == "train" else ""))
        # labels, classes or images replaced or changed in place since it was built
        try:
            data.check()
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
        if len(data) == 0:
            raise InputError(f"the {name} set holds no images; give at least one image "
                             "per class")
    present = np.unique(train.labels.numpy())
    if len(present) < 2:
        # one class trains a head that always answers it, at 100% training accuracy
        fix = (f"add images of another of the classes {train.classes[:5]}"
               if len(train.classes) > 1 else "give two or more classes, with images of each")
        raise InputError(f"only one class ({train.classes[int(present[0])]!r}) in the "
                         f"training labels; a classifier needs at least two: {fix}")
    if valid is not None and list(valid.classes) != list(train.classes):
        raise InputError(f"validation classes {valid.classes[:5]} differ from the "
                         f"training classes {train.classes[:5]}")
