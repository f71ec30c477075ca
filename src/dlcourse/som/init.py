"""Starting weights of a map: a plane along the two main components, random, or samples."""

from __future__ import annotations

import numpy as np

from dlcourse.errors import check_choice
from dlcourse.som.functions import INITS
from dlcourse.som.grid import Grid


def initial_weights(X: np.ndarray, grid: Grid, init: str, rng: np.random.Generator) -> np.ndarray:
    """Starting weights, shape ``(m * n, d)`` float64.

    ``pca`` lays the grid on the plane of the two main components through the mean, spanning
    +-2 standard deviations along each (the first component along the longer grid side;
    components estimated on at most ~32k evenly spaced rows);
    ``random`` draws uniformly inside the data's bounding box; ``sample`` picks samples.

    Args:
        X: the data (N, d), finite numbers.
        grid: the map's :class:`Grid` (its size and unit positions).
        init: ``"pca"``, ``"random"`` or ``"sample"`` (with replacement when N < m * n).
        rng: draws the random and sample starts (pca uses none).

    Raises:
        InputError: an unknown ``init``.
    """
    check_choice("init", init, INITS)
    n_units, dim = grid.size, X.shape[1]
    if init == "sample":
        pick = rng.choice(len(X), size=n_units, replace=len(X) < n_units)
        return X[pick].astype(np.float64)
    if init == "random":
        low, high = X.min(axis=0).astype(np.float64), X.max(axis=0).astype(np.float64)
        return low + (high - low) * rng.random((n_units, dim))
    # about 16k evenly spaced rows estimate the two main components well enough for a start
    mean = X.mean(axis=0, dtype=np.float64)
    rows = X[:: max(1, len(X) // 16384)] - mean  # (<= 32k, d)
    values, vectors = top_components(rows, 2)  # (<=2,), (d, <=2)
    spans = 2.0 * np.sqrt(np.maximum(values, 0.0))  # (<=2,)
    pos = grid.positions()  # (K, 2) as (x, y)
    extent = pos.max(axis=0) - pos.min(axis=0)
    unit = np.where(extent > 0, (pos - pos.min(axis=0)) / np.where(extent > 0, extent, 1), 0.5)
    unit = 2.0 * unit - 1.0  # (K, 2) in [-1, 1]
    axes = [0, 1] if extent[0] >= extent[1] else [1, 0]  # first component on the longer side
    weights = np.tile(mean, (n_units, 1))
    for rank in range(len(values)):
        weights += unit[:, axes[rank], None] * spans[rank] * vectors[:, rank][None, :]
    return weights


def top_components(rows: np.ndarray, k: int, iterations: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Largest ``k`` eigenvalues (k,) and eigenvectors (d, k) of the covariance of centred ``rows``.

    Small ``d``: the full eigendecomposition. Large ``d``: subspace iteration on a few more
    vectors than asked (a fixed start, so deterministic), ``O(N d k)`` per step instead of the
    ``O(N d^2 + d^3)`` of forming and decomposing the covariance; its passes over the rows are
    float32 products (they are memory-bound: half the bytes), the rest float64.

    Args:
        rows: (N, d) centred data.
        k: how many components, at most ``d`` (fewer come back when ``d < k``).
        iterations: subspace-iteration steps, used only when ``d > 128``.
    """
    n, dim = rows.shape
    k = min(k, dim)
    scale = 1.0 / max(n - 1, 1)
    if dim <= 128:
        values, vectors = np.linalg.eigh(rows.T @ rows * scale)  # ascending
        return values[::-1][:k], vectors[:, ::-1][:, :k]
    low = np.asarray(rows, dtype=np.float32)  # (n, d)
    basis = np.random.default_rng(0).standard_normal((dim, k + 6))  # (d, k + 6)
    for _ in range(iterations):  # power step, re-orthonormalised
        step = low.T @ (low @ basis.astype(np.float32))
        basis, _ = np.linalg.qr(step.astype(np.float64))
    projected = (low @ basis.astype(np.float32)).astype(np.float64)  # (n, k + 6)
    values, vectors = np.linalg.eigh(projected.T @ projected * scale)  # Rayleigh-Ritz
    return values[::-1][:k], (basis @ vectors)[:, ::-1][:, :k]
