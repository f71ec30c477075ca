"""The CPU best-unit search with numba kernels: :class:`CompiledSearch` gives the bits of
:class:`~dlcourse.som.backend_numpy.NumpySearch` (which queries use, without numba) faster,
and on wide data prunes it.

Pruning: a GEMM over ``PRUNE_RANK`` main axes of the data bounds every sample-unit distance
from below, and only the few units the bound cannot rule out get an exact distance.
"""

from __future__ import annotations

import numpy as np

from dlcourse.som import _kernels
from dlcourse.som.backend_numpy import WEIGHT_CODES, NumpySearch
from dlcourse.som.init import top_components

# Batch training prunes its best-unit search on wide data: a GEMM over PRUNE_RANK principal
# axes bounds every distance from below, and only the few units the bound cannot rule out get
# an exact one. Below PRUNE_MIN_DIM features the full GEMM is already cheap.
PRUNE_MIN_DIM = 128
PRUNE_RANK = 48
PRUNE_ROWS = 512  # evenly spaced rows estimate the axes: any orthonormal basis is exact
# float32 rounding margin of a bound and a distance, relative to |x - c|^2 + max |w - c|^2
PRUNE_SLACK = 1e-4


class CompiledSearch(NumpySearch):
    """:class:`NumpySearch` by the numba kernels of :mod:`dlcourse.som._kernels`: block scans
    that also sum the batch statistics, and (after :meth:`prune_with`) the pruned search."""

    _basis: np.ndarray | None = None  # (d, k) float32 pruning axes, see prune_with
    _bounds: np.ndarray | None = None

    def weights32(self, w: np.ndarray, centred: bool = False) -> np.ndarray:
        """:meth:`NumpySearch.weights32` by the numba kernel: the same bits, faster at every
        mini-batch."""
        wc = w if centred else w - self.spec.center
        out = np.empty((len(wc), wc.shape[1] + 1), np.float32)
        _kernels.weights32(np.ascontiguousarray(wc, dtype=np.float64), out,
                           WEIGHT_CODES[self.spec.distance])
        return out

    def distances(self, xa: np.ndarray, wa: np.ndarray) -> np.ndarray:
        """:meth:`NumpySearch.distances`, L1 distances by the numba kernel."""
        if self.spec.distance != "manhattan":
            return super().distances(xa, wa)
        out = np.empty((len(xa), len(wa)), np.float32)  # (B, K)
        _kernels.manhattan(xa[:, :-1], np.ascontiguousarray(wa[:, :-1]), out)
        return out

    def prune_with(self, X: np.ndarray, rank: int = PRUNE_RANK) -> None:
        """Let the next passes of :meth:`accumulate` prune their search with ``rank`` main axes
        of ``X`` (N, d) when it is wide enough (euclidean only); :meth:`drop_cache` stops it.

        The answers are the same whatever the axes (they only decide how many distances are
        computed), but each distance is a float32 dot instead of a GEMM entry, so a best unit
        can differ from the full search's where two units tie to float32 rounding.
        """
        self._basis = None
        if self.spec.distance != "euclidean" or X.shape[1] < PRUNE_MIN_DIM:
            return
        step = max(1, len(X) // PRUNE_ROWS)
        if self._cache is not None and self._cache[0] is X:
            rows = self._cache[1][::step, :-1]  # (~PRUNE_ROWS, d) float32, centred
        else:
            rows = (X[::step] - self.spec.center).astype(np.float32)
        # two steps of the PCA start's subspace iteration: a rough span of the main axes is
        # enough (any orthonormal basis gives a valid bound)
        _, axes = top_components(rows, rank, iterations=2)  # (d, k)
        self._basis = np.ascontiguousarray(axes, dtype=np.float32)
        self._bounds = None  # (N, k + 2) bound rows of the cached X, made on first use

    def drop_cache(self) -> None:
        """Forget the float32 copy of the rows and the pruning axes."""
        super().drop_cache()
        self._basis = self._bounds = None

    def _bound_rows(self, X, xa, offset, start, stop) -> np.ndarray:
        """Rows ``[P x, |R x|, 1]`` (B, k + 2) float32 of a block (see ``pruned_block``),
        kept for the whole X when its float32 copy is cached."""
        cached = self._cache is not None and self._cache[0] is X
        if cached and self._bounds is not None:
            return self._bounds[start:stop]
        source = self._cache[1] if cached else xa
        low = self._basis.shape[1]
        out = np.empty((len(source), low + 2), np.float32)
        np.matmul(source[:, :-1], self._basis, out=out[:, :low])
        rest = (self._cache[2] if cached else offset).astype(np.float64)
        rest -= np.einsum("ij,ij->i", out[:, :low], out[:, :low], dtype=np.float64)
        out[:, low] = np.sqrt(np.maximum(rest, 0.0))
        out[:, low + 1] = 1.0
        if cached:
            self._bounds = out
            return out[start:stop]
        return out

    def _bound_weights(self, wa: np.ndarray) -> np.ndarray:
        """``[-2 P w, -2 |R w|, |w|^2]`` (K, k + 2) float32 from the GEMM form ``wa``."""
        low = self._basis.shape[1]
        out = np.empty((len(wa), low + 2), np.float32)
        np.matmul(wa[:, :-1], self._basis, out=out[:, :low])  # wa holds -2 w
        rest = wa[:, -1].astype(np.float64)
        rest -= 0.25 * np.einsum("ij,ij->i", out[:, :low], out[:, :low], dtype=np.float64)
        out[:, low] = -2.0 * np.sqrt(np.maximum(rest, 0.0))
        out[:, low + 1] = wa[:, -1]
        return out

    def accumulate(self, X: np.ndarray, wa: np.ndarray, stats: np.ndarray | None,
                   dist: np.ndarray, miss: np.ndarray) -> tuple[np.ndarray, float, int]:
        """One pass over X against float32 weights ``wa`` (:meth:`weights32`): best units (N,)
        returned with the distance sum and the miss count; per-row distances and misses
        written into ``dist`` and ``miss`` (N,); per-unit sums and counts added into ``stats``
        (K, d + 1) when given. One numba kernel per block does all but the GEMM and argmin
        (after :meth:`prune_with`, also the argmin and most distances)."""
        if self._basis is not None:
            return self._pruned(X, wa, stats, dist, miss)
        best = np.empty(len(X), np.int64)
        total, misses = 0.0, 0
        cosine = self.spec.distance == "cosine"
        root = self.spec.distance == "euclidean"
        none = np.empty((0, 0))
        for start in range(0, len(X), self.spec.chunk):
            stop = min(start + self.spec.chunk, len(X))
            xa, offset = self.inputs(X, start, stop)
            out = self.distances(xa, wa)
            block = out.argmin(axis=1)  # numpy's SIMD argmin
            best[start:stop] = block
            rows = none
            if stats is not None:  # cosine averages the raw rows, not the unit ones
                rows = np.column_stack([X[start:stop], np.ones(stop - start)]) if cosine else xa
            part, count = _kernels.scan_block(out, block, offset, self.spec.neighbors, root,
                                              dist[start:stop], miss[start:stop], rows,
                                              stats if stats is not None else none)
            total += part
            misses += count
        return best, total, misses

    def _pruned(self, X, wa, stats, dist, miss) -> tuple[np.ndarray, float, int]:
        """:meth:`accumulate` with the bound of :meth:`prune_with`."""
        best = np.empty(len(X), np.int64)
        total, misses = 0.0, 0
        low_w = self._bound_weights(wa)  # (K, k + 2)
        reach = float(wa[:, -1].max())  # max |w - c|^2
        exact, stamp = np.empty(len(wa), np.float32), np.zeros(len(wa), np.int64)
        candidates = np.empty(len(wa), np.int64)
        none = np.empty((0, 0))
        for start in range(0, len(X), self.spec.chunk):
            stop = min(start + self.spec.chunk, len(X))
            xa, offset = self.inputs(X, start, stop)
            bound = self.distances(self._bound_rows(X, xa, offset, start, stop), low_w)
            guess = bound.argmin(axis=1)  # numpy's SIMD argmin
            slack = (PRUNE_SLACK * (offset + reach)).astype(np.float32)  # (B,)
            rows = xa if stats is not None else none
            part, count = _kernels.pruned_block(
                bound, guess, xa, wa, offset, slack, self.spec.neighbors, self.root, start,
                best[start:stop], dist[start:stop], miss[start:stop], rows,
                stats if stats is not None else none, exact, stamp, candidates)
            total += part
            misses += count
        return best, total, misses

    def scan(self, X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`NumpySearch.scan` by the numba kernels: the same bits, faster (the errors
        of every online or mini-batch epoch and of the trained map); after :meth:`prune_with`,
        the pruned search's answers (see there)."""
        dist, miss = np.empty(len(X)), np.empty(len(X), np.bool_)
        best, _, _ = self.accumulate(X, self.weights32(w), None, dist, miss)
        if self.spec.distance == "euclidean":  # float32 search, float64 error
            _kernels.winner_distances(X, np.ascontiguousarray(w, dtype=np.float64), best, dist)
        return best, dist, miss
