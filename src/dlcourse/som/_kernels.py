"""Numba kernels of the CPU path: batch statistics, L1 distances and the exact online rule.

Compiled on first use and cached on disk (``cache=True``), so later processes start fast.
Integer codes stand for the registry names (see ``NEIGHBORHOOD_CODES`` ...), because numba
kernels cannot take Python callables cheaply.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

NEIGHBORHOOD_CODES = {"gaussian": 0, "bubble": 1, "mexican_hat": 2, "triangle": 3}
DECAY_CODES = {"exponential": 0, "linear": 1, "inverse_time": 2}
DISTANCE_CODES = {"euclidean": 0, "cosine": 1, "manhattan": 2}


@njit(cache=True)
def _decay(code, start, end, frac):
    # mirrors dlcourse.som.functions.DECAYS
    if code == 0:
        return start * (end / start) ** frac
    if code == 1:
        return start + (end - start) * frac
    return start / (1.0 + (start / end - 1.0) * frac)


@njit(cache=True)
def _neighborhood(code, d2, sigma):
    # mirrors dlcourse.som.functions.NEIGHBORHOODS
    if code == 0:
        return math.exp(-d2 / (2.0 * sigma * sigma))
    if code == 1:
        return 1.0 if (d2 <= sigma * sigma or d2 == 0.0) else 0.0
    if code == 2:
        return math.exp(-d2 / (2.0 * sigma * sigma)) * (1.0 - d2 / (sigma * sigma))
    return max(0.0, 1.0 - math.sqrt(d2) / sigma)


@njit(cache=True)
def accumulate(x, bmu, sums, counts):
    """Add each row ``x[i]`` (B, d) to ``sums[bmu[i]]`` (K, d) and count it in ``counts`` (K,).

    The sufficient statistics of the batch SOM update, in one pass without (B, K) one-hots.
    """
    for i in range(x.shape[0]):
        b = bmu[i]
        counts[b] += 1.0
        for j in range(x.shape[1]):
            sums[b, j] += x[i, j]


@njit(cache=True, fastmath=True)
def manhattan(x, w, out):
    """L1 distances ``out[i, k] = sum_j |x[i, j] - w[k, j]|`` for x (B, d), w (K, d)."""
    for i in range(x.shape[0]):
        for k in range(w.shape[0]):
            total = 0.0
            for j in range(x.shape[1]):
                total += abs(x[i, j] - w[k, j])
            out[i, k] = total


@njit(cache=True, fastmath=True)
def online(x, w, order, t0, total, grid_d2, neigh_code, decay_code, distance_code,
           lr_start, lr_end, sigma_start, sigma_end):
    """The lesson's rule, one sample at a time: ``w += lr(t) h(t) (x - w)``, in place.

    ``x`` (N, d), ``w`` (K, d) float64, ``order`` (T,) sample index of each step, ``t0`` the
    global step of ``order[0]`` and ``total`` the number of steps of the whole run (for the
    decay), ``grid_d2`` (K, K) squared grid distances.
    """
    n_units, dim = w.shape
    last = max(total - 1, 1)
    for step in range(order.shape[0]):
        xi = x[order[step]]
        frac = (t0 + step) / last
        lr = _decay(decay_code, lr_start, lr_end, frac)
        sigma = _decay(decay_code, sigma_start, sigma_end, frac)
        if distance_code == 1:
            xnorm = 0.0
            for j in range(dim):
                xnorm += xi[j] * xi[j]
            xnorm = math.sqrt(xnorm) + 1e-12
        best = np.inf
        b = 0
        for k in range(n_units):
            total_k = 0.0
            if distance_code == 0:
                for j in range(dim):
                    diff = xi[j] - w[k, j]
                    total_k += diff * diff
            elif distance_code == 2:
                for j in range(dim):
                    total_k += abs(xi[j] - w[k, j])
            else:
                dot = 0.0
                wn = 0.0
                for j in range(dim):
                    dot += xi[j] * w[k, j]
                    wn += w[k, j] * w[k, j]
                total_k = 1.0 - dot / (xnorm * (math.sqrt(wn) + 1e-12))
            if total_k < best:
                best = total_k
                b = k
        for k in range(n_units):
            h = _neighborhood(neigh_code, grid_d2[b, k], sigma)
            if h != 0.0:
                g = lr * h
                for j in range(dim):
                    w[k, j] += g * (xi[j] - w[k, j])
