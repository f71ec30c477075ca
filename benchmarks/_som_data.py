"""The data sets of ``bench_som.py``: sklearn sets, Fashion-MNIST and MNIST-5k from the offline
cache, and seeded gaussian blobs. Imported after the benchmark has set its thread variables."""

from __future__ import annotations

import numpy as np

SETS = ("digits", "fashion", "cancer20", "mnist", "blobs", "wine")


def standardise(X: np.ndarray) -> np.ndarray:
    std = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)


def blobs(n: int, dim: int, seed: int = 42) -> np.ndarray:
    """A seeded mixture of 12 gaussian clusters with unequal spreads, float32 (n, dim)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(12, dim)).astype(np.float32)
    scales = rng.uniform(0.5, 1.5, 12).astype(np.float32)
    X = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):  # in place: no float64 temporaries of full size
        stop = min(start + 100_000, n)
        label = rng.integers(0, 12, stop - start)
        X[start:stop] = rng.standard_normal((stop - start, dim), dtype=np.float32)
        X[start:stop] *= scales[label, None]
        X[start:stop] += centres[label]
    return X


def cancer20() -> np.ndarray:
    from sklearn.datasets import load_breast_cancer

    return standardise(np.tile(load_breast_cancer().data, (20, 1)))


def dataset(name: str) -> tuple[np.ndarray, int]:
    """(X, grid side) of a named data set."""
    if name == "digits":
        from sklearn.datasets import load_digits

        return load_digits().data.astype(np.float64), 20
    if name in ("fashion", "mnist"):
        from dlcourse.data.readers import read_fashion_mnist, read_mnist_5k

        images = read_fashion_mnist("train")[0][:2000] if name == "fashion" \
            else read_mnist_5k()[0]
        return images.reshape(len(images), -1).astype(np.float64) / 255.0, 20
    if name == "cancer20":
        return cancer20(), 20
    if name == "blobs":
        return blobs(4000, 20).astype(np.float64), 16
    if name == "wine":
        from sklearn.datasets import load_wine

        return standardise(load_wine().data), 8
    raise SystemExit(f"unknown data set {name!r}; choose from {', '.join(SETS)}")


def usual_sets() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine

    return {"digits": load_digits().data.astype(np.float64),
            "digits std": standardise(load_digits().data),
            "breast_cancer std": standardise(load_breast_cancer().data),
            "wine std": standardise(load_wine().data), "iris std": standardise(load_iris().data),
            "blobs": blobs(4000, 20).astype(np.float64),
            "fashion 2k": dataset("fashion")[0]}


def held_out_sets() -> dict[str, tuple[np.ndarray, int]]:
    """(X, grid side) of data and grid sizes the defaults were not chosen on: a check that the
    ``--defaults`` comparison is not fitted to :func:`usual_sets`."""
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

    from dlcourse.data.readers import read_fashion_mnist, read_mnist_5k

    def pixels(images: np.ndarray) -> np.ndarray:
        return images.reshape(len(images), -1).astype(np.float64) / 255.0

    digits, cancer = standardise(load_digits().data), standardise(load_breast_cancer().data)
    return {"diabetes std": (standardise(load_diabetes().data), 10),
            "MNIST 2k": (pixels(read_mnist_5k()[0][:2000]), 10),
            "Fashion-MNIST 2k-4k": (pixels(read_fashion_mnist("train")[0][2000:4000]), 10),
            "blobs (seed 7, 10-d)": (blobs(3000, 10, seed=7).astype(np.float64), 10),
            "digits std 6x6": (digits, 6), "digits std 15x15": (digits, 15),
            "breast cancer std 6x6": (cancer, 6), "breast cancer std 15x15": (cancer, 15)}
