"""Train MiniSom (the reference library) with the same grid, start weights and schedule ends.

Used by the tour chapter and ``benchmarks/bench_som.py``; MiniSom is optional (``pip install
minisom``). MiniSom stores weights as ``(x, y, d)`` = (column, row) and, on hexagonal grids,
shifts the other set of rows, so its maps are our maps transposed and mirrored.
"""

from __future__ import annotations

import time

import numpy as np

from dlcourse.errors import DlcourseError


def to_minisom_layout(weights: np.ndarray, topology: str) -> np.ndarray:
    """Our (m, n, d) weights as MiniSom's (n, m, d) array of the same map (m even for hex)."""
    theirs = weights.transpose(1, 0, 2)
    return np.ascontiguousarray(theirs[::-1] if topology == "hexagonal" else theirs)


def from_minisom_layout(weights: np.ndarray, topology: str) -> np.ndarray:
    """Inverse of :func:`to_minisom_layout`: MiniSom's (n, m, d) weights as our (m, n, d)."""
    ours = weights[::-1] if topology == "hexagonal" else weights
    return np.ascontiguousarray(ours.transpose(1, 0, 2))


def train_minisom(X: np.ndarray, start: np.ndarray, topology: str, sigma: float,
                  learning_rate: float = 0.5, epochs: int = 10, method: str = "train",
                  seed: int = 0) -> tuple[np.ndarray, float]:
    """Train MiniSom from ``start`` (our (m, n, d) layout) for ``epochs * len(X)`` steps.

    Gaussian neighbourhood, sigma decaying from ``sigma`` to 1 (``inverse_decay_to_one``) and
    the learning rate to about 1% (``inverse_decay_to_zero``), the ends our schedule reaches.
    ``method``: ``"train"`` (random order) or ``"train_batch"`` (MiniSom's sequential pass).
    Returns the trained weights in our layout and the training seconds.
    """
    try:
        from minisom import MiniSom
    except ImportError as exc:
        raise DlcourseError("the comparison needs MiniSom; pip install minisom") from exc
    m, n, dim = start.shape
    if topology == "hexagonal" and m % 2:
        raise ValueError(f"the hexagonal comparison needs an even number of rows, got {m}")
    peer = MiniSom(n, m, dim, sigma=sigma, learning_rate=learning_rate, topology=topology,
                   neighborhood_function="gaussian", decay_function="inverse_decay_to_zero",
                   sigma_decay_function="inverse_decay_to_one", random_seed=seed)
    peer._weights = to_minisom_layout(np.asarray(start, dtype=np.float64), topology)
    steps = epochs * len(X)
    begin = time.perf_counter()
    if method == "train":
        peer.train(X, steps, random_order=True)
    elif method == "train_batch":
        peer.train_batch(X, steps)
    else:
        raise ValueError(f"unknown method {method!r}; choose one of train, train_batch")
    seconds = time.perf_counter() - begin
    return from_minisom_layout(peer.get_weights(), topology), seconds
