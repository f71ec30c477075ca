"""Fixtures of the vision tests: small real images (Fashion-MNIST test split), image folders."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def fashion_test():
    """The 10,000 Fashion-MNIST test images as an ArrayImageDataset (offline, sha-checked)."""
    from dlcourse.data.readers import read_fashion_mnist
    from dlcourse.vision.data import ArrayImageDataset
    from dlcourse.vision.named_sets import FASHION_MNIST_CLASSES

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


# EfficientNet-Lite0 from random weights at 16 px: the smallest real backbone, no download;
# lr 1e-3, not the default 0.01, at which this random network can fine-tune to nan
TINY = dict(arch="efficientnet_lite0", weights="none", image_size=16, epochs=1, batch_size=16,
            lr=1e-3, device="cpu")


def tiny_images(n: int = 16, size: int = 16, seed: int = 0):
    """Two learnable classes: bright vs dark grey squares with noise."""
    from dlcourse.vision.data import ArrayImageDataset

    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = rng.integers(0, 80, (n, size, size), dtype=np.uint8) + (labels * 150)[:, None, None]
    return ArrayImageDataset(images.astype(np.uint8), labels, ["dark", "bright"])


@pytest.fixture
def tiny():
    """``(make_data, settings)``: :func:`tiny_images` and the smallest classifier settings."""
    return tiny_images, dict(TINY)


@pytest.fixture(scope="session")
def vision_model(tmp_path_factory):
    """A small fitted vision model directory, written by the library (no data name saved)."""
    from dlcourse.vision.estimator import ImageClassifier

    out = tmp_path_factory.mktemp("vision_model")
    ImageClassifier(**TINY).fit(tiny_images(8)).save(out)
    return out
