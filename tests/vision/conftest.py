"""Fixtures of the vision tests: small real images (Fashion-MNIST test split), image folders."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def fashion_test():
    """The 10,000 Fashion-MNIST test images as an ArrayImageDataset (offline, sha-checked)."""
    from dlcourse.data.readers import read_fashion_mnist
    from dlcourse.vision.data import FASHION_MNIST_CLASSES, ArrayImageDataset

    x, y = read_fashion_mnist("test")
    return ArrayImageDataset(x, y, FASHION_MNIST_CLASSES)


@pytest.fixture
def no_feature_cache_writes(tmp_path, monkeypatch):
    """Feature cache inside the test's temp dir."""
    import dlcourse.vision.features as features

    monkeypatch.setattr(features, "feature_cache_dir", lambda: tmp_path / "features")
    return tmp_path / "features"


def write_png(path, rng, size=20, color=None):
    """A small RGB PNG; a class colour makes the images learnable."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
    if color is not None:
        pixels[:, :, color] += 180
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def png_writer():
    """The function that writes the small test PNGs."""
    return write_png


@pytest.fixture
def image_folder(tmp_path):
    """DIR/<class>/*.png: 2 classes (red, blue) x 6 images, plus one truncated file."""
    rng = np.random.default_rng(0)
    root = tmp_path / "imgs"
    for k, name in enumerate(["red", "blue"]):
        for i in range(6):
            write_png(root / name / f"{i}.png", rng, color=0 if k == 0 else 2)
    good = (root / "red" / "0.png").read_bytes()
    (root / "red" / "broken.png").write_bytes(good[: len(good) // 2])
    return root
