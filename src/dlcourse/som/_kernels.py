"""Numba kernels of the CPU path: block scans, weight layout, L1 distances, the online rule
(a small problem's whole epochs: :mod:`dlcourse.som._small_kernels`).

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


@njit(cache=True, fastmath=True)
def scan_block(out, best, offset, neighbors, root, dist, miss, rows, stats):
    """Distance to the best unit, topographic misses and the batch statistics of one block.

    ``out`` (B, K) float32 distances minus a per-row ``offset`` (B,), ``best`` (B,) each row's
    argmin, ``neighbors`` (K, 8) adjacency with valid indices first. Writes ``dist`` (B,)
    (square-rooted with ``root``: euclidean) and ``miss`` (B,): the second-best unit is not
    adjacent to the best. With a non-empty ``stats`` (K, c) it also adds each row ``rows[i]``
    (B, c) to ``stats[best[i]]``: with a last column of ones that is sums and counts at once.
    Returns the sum of ``dist`` and the number of misses.

    The miss test needs no second argmin: a miss is a unit other than the best that is strictly
    closer than the best neighbour, and counting those is a loop that vectorises.
    """
    total = 0.0
    misses = 0
    width = stats.shape[1] if stats.shape[0] > 0 else 0
    for i in range(out.shape[0]):
        row = out[i]
        b = best[i]
        value = np.float64(row[b]) + offset[i]
        dist[i] = math.sqrt(max(value, 0.0)) if root else value
        total += dist[i]
        nearest = row[neighbors[b, 0]]  # every unit has at least one neighbour
        for j in range(1, neighbors.shape[1]):
            u = neighbors[b, j]
            if u >= 0 and row[u] < nearest:
                nearest = row[u]
        closer = 0
        for k in range(row.shape[0]):
            closer += row[k] < nearest
        miss[i] = closer > (row[b] < nearest)
        misses += miss[i]
        for j in range(width):
            stats[b, j] += rows[i, j]
    return total, misses


@njit(cache=True, fastmath=True)
def _dot(x, w):
    total = np.float32(0.0)
    for t in range(x.shape[0]):
        total += x[t] * w[t]
    return total


@njit(cache=True, fastmath=True)
def _distance(xa, wa, i, j, exact, stamp, ticket):
    # the float32 distance (minus the row's offset) of row i to unit j, computed once per row
    if stamp[j] != ticket:
        exact[j] = _dot(xa[i], wa[j])
        stamp[j] = ticket
    return exact[j]


@njit(cache=True, fastmath=True)
def pruned_block(bound, guess, xa, wa, offset, slack, neighbors, root, first, best, dist, miss,
                 rows, stats, exact, stamp, candidates):
    """:func:`scan_block`'s results with most distances never computed.

    ``bound`` (B, K) float32: lower bounds of the distances minus each row's ``offset`` (B,),
    ``[P x, |R x|, 1] . [-2 P w, -2 |R w|, |w|^2]`` for an orthonormal projection P and the rest
    R (Cauchy-Schwarz on the rest: ``x . w <= Px . Pw + |Rx| |Rw|``); ``guess`` (B,) each row's
    unit of lowest bound. ``xa`` (B, d + 1) and ``wa`` (K, d + 1) are the GEMM forms of
    :func:`weights32`: a distance is their dot. The guess and its grid neighbours give a
    threshold; only units whose bound is below it (plus ``slack`` (B,), a margin for float32
    rounding) can be the best unit or closer than its nearest neighbour, so only their
    distances are computed. ``first`` numbers this block's first row within the pass;
    ``exact``, ``stamp``, ``candidates`` (K,) are scratch (``stamp`` zeroed once per pass).
    Writes ``best`` (B,) too; otherwise the arguments and results of :func:`scan_block`.
    """
    total = 0.0
    misses = 0
    width = stats.shape[1] if stats.shape[0] > 0 else 0
    n_units = bound.shape[1]
    for i in range(bound.shape[0]):
        row = bound[i]
        ticket = first + i + 1
        b = guess[i]
        top = _distance(xa, wa, i, b, exact, stamp, ticket)
        limit = top
        for t in range(neighbors.shape[1]):
            u = neighbors[b, t]
            if u >= 0:
                limit = max(limit, _distance(xa, wa, i, u, exact, stamp, ticket))
        limit += slack[i]
        count = 0
        for j in range(n_units):
            if row[j] < limit:
                candidates[count] = j
                count += 1
        for c in range(count):
            j = candidates[c]
            value = _distance(xa, wa, i, j, exact, stamp, ticket)
            if value < top or (value == top and j < b):  # argmin's tie rule
                top, b = value, j
        best[i] = b
        value = np.float64(top) + offset[i]
        dist[i] = math.sqrt(max(value, 0.0)) if root else value
        total += dist[i]
        nearest = np.float32(np.inf)
        for t in range(neighbors.shape[1]):
            u = neighbors[b, t]
            if u >= 0:
                nearest = min(nearest, _distance(xa, wa, i, u, exact, stamp, ticket))
        # a miss: a unit other than b strictly closer than b's nearest neighbour; all such
        # units are candidates unless b moved away from the guess to a farther neighbourhood
        found = False
        if nearest + slack[i] <= limit:
            for c in range(count):
                j = candidates[c]
                if j != b and exact[j] < nearest:
                    found = True
                    break
        else:
            for j in range(n_units):
                if j != b and row[j] < nearest + slack[i]:
                    if _distance(xa, wa, i, j, exact, stamp, ticket) < nearest:
                        found = True
                        break
        miss[i] = found
        misses += found
        for j in range(width):
            stats[b, j] += rows[i, j]
    return total, misses


@njit(cache=True)
def weights32(w, out, code):
    """Fill ``out`` (K, d + 1) float32 with the GEMM form of weights ``w`` (K, d).

    ``code`` 0 (euclidean): ``[-2 w, |w|^2]`` so that ``[x, 1] . out_k = |x - w_k|^2 - |x|^2``;
    1 (cosine): ``[-w / |w|, 0]``; 2 (manhattan): ``[w, 0]`` for the L1 kernel.
    """
    dim = w.shape[1]
    for k in range(w.shape[0]):
        norm = 0.0
        for j in range(dim):
            value = np.float32(w[k, j])
            out[k, j] = value
            norm += np.float64(value) * value
        out[k, dim] = 0.0
        if code == 0:
            for j in range(dim):
                out[k, j] *= -2.0
            out[k, dim] = norm
        elif code == 1:
            scale = -1.0 / (math.sqrt(norm) + 1e-12)
            for j in range(dim):
                out[k, j] *= scale


@njit(cache=True)
def batch_step(smoothed, w, out, code):
    """The batch rule in place, then the new weights' GEMM form (see :func:`weights32`).

    ``smoothed`` (K, d + 1): neighbourhood-smoothed per-unit sums and, last, counts; unit k
    moves to ``sums_k / counts_k`` where that count is positive, else stays. ``w`` (K, d)
    float64 is updated; ``out`` (K, d + 1) float32 receives the new weights for the next GEMM.
    """
    dim = w.shape[1]
    for k in range(w.shape[0]):
        mass = smoothed[k, dim]
        if mass > 1e-12:
            for j in range(dim):
                w[k, j] = smoothed[k, j] / mass
    weights32(w, out, code)


@njit(cache=True, fastmath=True)
def gaussian_smooth(values, across2, along2, sigma, work, out):
    """:meth:`dlcourse.som.grid.Grid.gaussian_smooth` in loops, for small maps (no BLAS call
    per row, no Python per epoch).

    ``values`` (K, c) of an m x n grid, ``across2`` (m, m) squared row offsets, ``along2``
    (P, P, n, n) squared column offsets per (target, source) row parity (P = 2 on a hexagonal
    grid of several rows, else 1); ``work`` (P, m, n, c) scratch; writes ``out`` (K, c).
    """
    parities, m, n = along2.shape[0], across2.shape[0], along2.shape[2]
    width = values.shape[1]
    scale = -0.5 / (sigma * sigma)
    across = np.exp(across2 * scale)  # (m, m)
    along = np.exp(along2 * scale)  # (P, P, n, n)
    work[:] = 0.0
    # every row smoothed along x towards each target parity; 1-D views so the loops vectorise
    for target in range(parities):
        for r in range(m):
            kernel = along[target, r % parities]
            for j in range(n):
                dst = work[target, r, j]
                for k in range(n):
                    a, src = kernel[j, k], values[r * n + k]
                    for q in range(width):
                        dst[q] += a * src[q]
    flat_out = out.reshape(m, n * width)  # then across the rows, whole rows at a time
    flat_work = work.reshape(parities, m, n * width)
    flat_out[:] = 0.0
    for t in range(m):
        dst = flat_out[t]
        for r in range(m):
            a, src = across[t, r], flat_work[t % parities, r]
            for q in range(n * width):
                dst[q] += a * src[q]


@njit(cache=True)
def winner_distances(x, w, best, out):
    """Exact float64 Euclidean distance of each row ``x[i]`` (B, d) to ``w[best[i]]``, (B,)."""
    for i in range(x.shape[0]):
        b = best[i]
        total = 0.0
        for j in range(x.shape[1]):
            diff = np.float64(x[i, j]) - w[b, j]
            total += diff * diff
        out[i] = math.sqrt(total)


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


@njit(cache=True)
def _ready(x):
    return x + 1


def warm() -> None:
    """Start numba now: a process's first call into any compiled kernel loads its compiler and
    code cache (about 0.2 s), which a timed loop should not count; later calls cost
    microseconds."""
    _ready(1)
