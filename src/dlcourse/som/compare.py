"""Train MiniSom (the reference library) with the same grid, start weights and schedule ends.

Used by the tour chapter and ``benchmarks/bench_som.py``; MiniSom is optional (``pip install
minisom``). MiniSom stores weights as ``(x, y, d)`` = (column, row) and, on hexagonal grids,
shifts the other set of rows, so its maps are our maps transposed and mirrored.
"""

from __future__ import annotations

import time

import numpy as np

from dlcourse.errors import DlcourseError, InputError, check_choice


def to_minisom_layout(weights: np.ndarray, topology: str) -> np.ndarray:
    """Our (m, n, d) weights as MiniSom's (n, m, d) array of the same map (m even for hex)."""
    if topology == "hexagonal" and weights.shape[0] % 2:
        # MiniSom shifts the other rows: an odd number of rows has no mirror image that fits
        raise InputError(f"a hexagonal map goes to MiniSom's layout with an even number of "
                         f"rows, got {weights.shape[0]}")
    theirs = weights.transpose(1, 0, 2)
    return np.ascontiguousarray(theirs[::-1] if topology == "hexagonal" else theirs)


def from_minisom_layout(weights: np.ndarray, topology: str) -> np.ndarray:
    """Inverse of :func:`to_minisom_layout`: MiniSom's (n, m, d) weights as our (m, n, d)."""
    ours = weights[::-1] if topology == "hexagonal" else weights
    return np.ascontiguousarray(ours.transpose(1, 0, 2))


# MiniSom's (learning-rate, sigma) decay functions for each comparison schedule:
# "to_one": sigma falls to 1 and the learning rate to lr / 101; "default": MiniSom's own
# defaults, both falling to a third of their start (asymptotic_decay).
SCHEDULES = {
    "to_one": ("inverse_decay_to_zero", "inverse_decay_to_one"),
    "default": ("asymptotic_decay", "asymptotic_decay"),
}


def matching_params(schedule: str, sigma: float, learning_rate: float = 0.5) -> dict:
    """SOM arguments whose sigma and learning-rate curves are MiniSom's under ``schedule``.

    Every MiniSom decay above is ``start / (1 + a * t / T)``, which is our ``"inverse_time"``
    decay from ``start`` to ``start / (1 + a)``: so the two libraries follow the same curves
    from the same start to the same end (sigma 1 and lr / 101, or both a third of the start).

    >>> matching_params("default", 6.0)["sigma_end"]
    2.0
    """
    if schedule == "to_one":
        ends = (learning_rate / 101.0, 1.0)
    elif schedule == "default":
        ends = (learning_rate / 3.0, sigma / 3.0)
    else:
        raise InputError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    return {"decay": "inverse_time", "sigma": sigma, "sigma_end": ends[1],
            "learning_rate": learning_rate, "learning_rate_end": ends[0]}


def train_minisom(X: np.ndarray, start: np.ndarray, topology: str, sigma: float,
                  learning_rate: float = 0.5, epochs: int = 10, method: str = "train",
                  seed: int = 0, schedule: str = "to_one") -> tuple[np.ndarray, float]:
    """Train MiniSom from ``start`` (our (m, n, d) layout) for ``epochs * len(X)`` steps.

    Gaussian neighbourhood; ``schedule`` (see ``SCHEDULES``): ``"to_one"`` decays sigma from
    ``sigma`` to 1 (``inverse_decay_to_one``) and the learning rate to about 1%
    (``inverse_decay_to_zero``), ``"default"`` uses MiniSom's default ``asymptotic_decay``
    for both (ending at a third of their start). ``method``: ``"train"`` (random order) or
    ``"train_batch"`` (MiniSom's sequential pass).
    Returns the trained weights in our layout and the training seconds.
    """
    try:
        from minisom import MiniSom
    except ImportError as exc:
        raise DlcourseError("the comparison needs MiniSom; pip install minisom") from exc
    check_choice("schedule", schedule, SCHEDULES)
    lr_decay, sigma_decay = SCHEDULES[schedule]
    m, n, dim = start.shape
    if topology == "hexagonal" and m % 2:
        raise InputError(f"the hexagonal comparison needs an even number of rows, got {m}")
    peer = MiniSom(n, m, dim, sigma=sigma, learning_rate=learning_rate, topology=topology,
                   neighborhood_function="gaussian", decay_function=lr_decay,
                   sigma_decay_function=sigma_decay, random_seed=seed)
    peer._weights = to_minisom_layout(np.asarray(start, dtype=np.float64), topology)
    steps = epochs * len(X)
    begin = time.perf_counter()
    if method == "train":
        peer.train(X, steps, random_order=True)
    elif method == "train_batch":
        peer.train_batch(X, steps)
    else:
        raise InputError(f"unknown method {method!r}; choose one of train, train_batch")
    seconds = time.perf_counter() - begin
    return from_minisom_layout(peer.get_weights(), topology), seconds
