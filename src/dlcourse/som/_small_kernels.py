"""Numba kernels of a small problem's batch epochs (rows x units x (d + 1) up to 2^19): the
search, the scan and the smoothing of an epoch in one call, no BLAS or Python in between.

The per-step kernels they call (:func:`~dlcourse.som._kernels.scan_block`,
:func:`~dlcourse.som._kernels.gaussian_smooth`, :func:`~dlcourse.som._kernels.batch_step`) are
the large problems' too, so both paths update the weights with the same bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dlcourse.som._kernels import batch_step, gaussian_smooth, scan_block


@njit(cache=True, fastmath=True)
def small_search(xa, wa, dists, best):
    """The GEMM ``dists = xa . wa^T`` (N, K) float32 and each row's argmin ``best`` (N,) in
    loops: for a small problem cheaper than a BLAS call and numpy's argmin.

    ``xa`` (N, d + 1) rows and ``wa`` (K, d + 1) weights in the GEMM form of
    :func:`weights32` (the rows' last column is 1).
    """
    n, (units, width) = xa.shape[0], wa.shape
    feats = width - 1
    wat = np.empty((width, units), np.float32)  # (d + 1, K): a unit's terms side by side
    for k in range(units):
        for j in range(width):
            wat[j, k] = wa[k, j]
    for i in range(n):
        for k in range(units):
            dists[i, k] = wat[feats, k]
    # four features at a time over all rows, the loop over units innermost (it vectorises):
    # a row's sums wait on their previous pass, so a quarter of the passes, and rows in
    # between, hide that wait (on wine's 13 features x 64 units 30% faster than one feature
    # a pass within each row)
    j = 0
    while j + 4 <= feats:
        t0, t1, t2, t3 = wat[j], wat[j + 1], wat[j + 2], wat[j + 3]
        for i in range(n):
            x0, x1, x2, x3 = xa[i, j], xa[i, j + 1], xa[i, j + 2], xa[i, j + 3]
            for k in range(units):
                dists[i, k] += (x0 * t0[k] + x1 * t1[k]) + (x2 * t2[k] + x3 * t3[k])
        j += 4
    while j < feats:
        t0 = wat[j]
        for i in range(n):
            x0 = xa[i, j]
            for k in range(units):
                dists[i, k] += x0 * t0[k]
        j += 1
    # each row's minimum (a reduction that vectorises, where a running argmin does not), then
    # the first unit that holds it, as numpy's argmin; two passes run faster than one
    lows = np.empty(n, np.float32)
    for i in range(n):
        low = dists[i, 0]
        for k in range(1, units):
            value = dists[i, k]
            low = value if value < low else low
        lows[i] = low
    for i in range(n):
        b = 0
        while b < units - 1 and dists[i, b] != lows[i]:
            b += 1
        best[i] = b


@njit(cache=True, fastmath=True)
def small_batch_epoch(xa, offset, wa, neighbors, across2, along2, sigma, dist, miss, best,
                      dists, smoothed):
    """A small Euclidean problem's batch epoch up to the update in one call:
    :func:`small_search`, :func:`scan_block` and the separable smoothing, with no BLAS or Python
    call in between (on 178 rows and 64 units those calls cost more than the arithmetic).

    ``xa`` (N, d + 1) float32 rows and ``wa`` (K, d + 1) weights in GEMM form, ``offset``
    (N,); ``dists`` (N, K) float32 scratch; ``across2``/``along2`` see
    :func:`gaussian_smooth`. Writes ``dist``, ``miss``, ``best`` (N,) and the smoothed sums and
    counts ``smoothed`` (K, d + 1) for :func:`batch_step`; returns the distance sum and miss
    count. (:func:`batch_step` is called apart, from :func:`small_batch_epochs`: numba compiles
    a kernel first reached from a fastmath kernel with fastmath and caches it so, and the update
    must keep its bits.)
    """
    small_search(xa, wa, dists, best)
    stats = np.zeros((wa.shape[0], xa.shape[1]))  # (K, d + 1): per-unit sums, then counts
    total, misses = scan_block(dists, best, offset, neighbors, True, dist, miss, xa, stats)
    work = np.empty((along2.shape[0], across2.shape[0], along2.shape[2], xa.shape[1]))
    gaussian_smooth(stats, across2, along2, sigma, work, smoothed)
    return total, misses


@njit(cache=True)
def small_batch_epochs(xa, offset, wa, w, neighbors, across2, along2, sigmas, code, final, dist,
                       miss, best, dists, smoothed, totals, misses):
    """``len(sigmas)`` batch epochs of a small Euclidean problem in one call: per epoch
    :func:`small_batch_epoch` with that epoch's sigma, then :func:`batch_step` on ``w`` (K, d)
    float64 and ``wa`` in place. Writes each epoch's distance sum and miss count, of the
    weights before its update, into ``totals`` and ``misses`` (E,). With ``final`` (the last
    epochs of the fit) it then scans the trained weights (:func:`small_scan`: ``best``, float32
    ``dist``, ``miss``) and returns their miss count, else -1.

    Always the path of a small fit, one epoch a call or many, so a run stopped between calls
    and resumed computes the same bits; exact itself, so :func:`batch_step` keeps its own.
    """
    for epoch in range(sigmas.shape[0]):
        totals[epoch], misses[epoch] = small_batch_epoch(
            xa, offset, wa, neighbors, across2, along2, sigmas[epoch], dist, miss, best, dists,
            smoothed)
        batch_step(smoothed, w, wa, code)
    if not final:
        return -1
    return small_scan(xa, offset, wa, neighbors, dist, miss, best)


@njit(cache=True, fastmath=True)
def small_scan(xa, offset, wa, neighbors, dist, miss, best):
    """:func:`small_search` then :func:`scan_block` (no statistics) in one call: best units,
    float32 distances and misses (N,) of a small problem; returns the miss count."""
    dists = np.empty((xa.shape[0], wa.shape[0]), np.float32)
    small_search(xa, wa, dists, best)
    none = np.empty((0, 0))
    return scan_block(dists, best, offset, neighbors, True, dist, miss, none, none)[1]
