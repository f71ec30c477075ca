"""CPU best-unit search in numpy alone: BLAS float32 distances in blocks and numpy's argmin.

One pass over the data: a GEMM of ``[x - c, 1]`` against ``[-2 w, |w|^2]`` gives every
distance up to ``|x - c|^2``, numpy's SIMD argmin picks the best unit, and the topographic
error counts the units closer than the best one's nearest grid neighbour. The float32 copy of
the (centred) data is made once per fit when it fits in ``CACHE_BYTES``, else block by block.

This module imports no numba: answering a query (``dlcourse som predict``) costs no compiler
start (about 0.9 s). It computes the same bits as the numba kernels of
:mod:`dlcourse.som._kernels` (sums in the same order), which
:mod:`dlcourse.som.compiled_search` adds for speed.
"""

from __future__ import annotations

import numpy as np

from dlcourse.som.rules import SearchSpec

# the float32 copy of the training data is kept across epochs up to this size (else re-made
# block by block each epoch): it saves a pass over the data per epoch
CACHE_BYTES = 256 << 20
WEIGHT_CODES = {"euclidean": 0, "cosine": 1, "manhattan": 2}


class NumpySearch:
    """Best units, errors and per-unit sums of rows, from plain values (a :class:`SearchSpec`).

    Example:
        >>> from dlcourse.som.grid import Grid
        >>> X = np.random.default_rng(0).normal(size=(50, 3))
        >>> spec = SearchSpec(Grid(3, 4).neighbors(), "euclidean", X.mean(0), chunk=16)
        >>> bmu, dist, miss = NumpySearch(spec).scan(X, X[:12])
        >>> bmu.shape, bool((dist >= 0).all())
        ((50,), True)
    """

    def __init__(self, spec: SearchSpec) -> None:
        self.spec = spec
        self.root = spec.distance == "euclidean"
        # X and its float32 layout (N, d + 1) with offsets (N,), kept across a fit's epochs
        self._cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._xbuf: np.ndarray | None = None  # (chunk, d + 1) float32 inputs, last column 1
        self._obuf: np.ndarray | None = None  # (chunk,) float32 row offsets
        self._dbuf: np.ndarray | None = None  # (chunk, K) float32 distances

    # ------------------------------------------------------------------ float32 layouts
    def weights32(self, w: np.ndarray, centred: bool = False) -> np.ndarray:
        """Weights (K, d) as the GEMM's float32 (K, d + 1) operand, the bits of
        ``_kernels.weights32``: euclidean ``[-2 w, |w|^2]`` so that ``[x, 1] . out_k =
        |x - w_k|^2 - |x|^2``; cosine ``[-w / |w|, 0]``; manhattan ``[w, 0]``.

        ``centred``: ``w`` is already minus the data's centre (the batch loop keeps it so).
        """
        wc = np.asarray(w if centred else w - self.spec.center, dtype=np.float64)
        low = wc.astype(np.float32)  # (K, d)
        out = np.zeros((len(wc), wc.shape[1] + 1), np.float32)
        if self.spec.distance == "manhattan":
            out[:, :-1] = low
            return out
        wide = low.astype(np.float64)
        norm = np.zeros(len(wc))
        for j in range(wc.shape[1]):  # column by column: the kernel's order of float64 adds
            norm += wide[:, j] * wide[:, j]
        if self.spec.distance == "euclidean":
            out[:, :-1] = low * np.float32(-2.0)
            out[:, -1] = norm
        else:
            out[:, :-1] = wide * (-1.0 / (np.sqrt(norm) + 1e-12))[:, None]
        return out

    def _convert(self, X: np.ndarray, out: np.ndarray, offset: np.ndarray) -> None:
        """Rows of X centred into ``out`` (B, d + 1) float32 (last column 1; cosine: unit rows)
        and their offsets (B,): |x - c|^2 (euclidean), 1 (cosine) or 0 (manhattan)."""
        xc = out[:, :-1]
        np.subtract(X, self.spec.center, out=xc, casting="unsafe")
        out[:, -1] = 1.0
        if self.spec.distance == "cosine":
            xc /= np.linalg.norm(xc, axis=1, keepdims=True) + 1e-12
            offset[:] = 1.0
        elif self.spec.distance == "euclidean":
            np.einsum("ij,ij->i", xc, xc, out=offset)
        else:
            offset[:] = 0.0

    def cache_rows(self, X: np.ndarray) -> None:
        """Keep X's float32 layout for the following scans of this X when it is small enough
        (until :meth:`drop_cache`)."""
        self._cache = None
        if len(X) * (X.shape[1] + 1) * 4 > CACHE_BYTES:
            return
        rows, offset = np.empty((len(X), X.shape[1] + 1), np.float32), np.empty(len(X), np.float32)
        for start in range(0, len(X), self.spec.chunk):  # blockwise: no float64 temporaries
            stop = min(start + self.spec.chunk, len(X))
            self._convert(X[start:stop], rows[start:stop], offset[start:stop])
        self._cache = (X, rows, offset)

    def drop_cache(self) -> None:
        """Forget the float32 copy made by :meth:`cache_rows`."""
        self._cache = None

    def inputs(self, X: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows start:stop as (B, d + 1) float32 and their offsets (B,): cached or converted
        into reused buffers (fresh arrays every block would cost page faults every epoch)."""
        if self._cache is not None and self._cache[0] is X:
            return self._cache[1][start:stop], self._cache[2][start:stop]
        rows, dim = min(self.spec.chunk, len(X)), X.shape[1]
        if self._xbuf is None or self._xbuf.shape[0] < rows or self._xbuf.shape[1] != dim + 1:
            self._xbuf = np.empty((rows, dim + 1), np.float32)
            self._obuf = np.empty(rows, np.float32)
        xa, offset = self._xbuf[: stop - start], self._obuf[: stop - start]
        self._convert(X[start:stop], xa, offset)
        return xa, offset

    def distances(self, xa: np.ndarray, wa: np.ndarray) -> np.ndarray:
        """(B, K) float32 distances minus each row's offset, in a reused buffer, for rows
        ``xa`` (B, d + 1) from :meth:`inputs` and weights ``wa`` from :meth:`weights32`."""
        rows, units = len(xa), len(wa)
        if self._dbuf is None or self._dbuf.shape[0] < rows or self._dbuf.shape[1] != units:
            self._dbuf = np.empty((min(self.spec.chunk, max(rows, 1)), units), np.float32)
        out = self._dbuf[:rows]
        if self.spec.distance == "manhattan":
            total = np.zeros((rows, units))  # (B, K) float64: one feature at a time, no (B, K, d)
            for j in range(xa.shape[1] - 1):
                total += np.abs(xa[:, j, None] - wa[None, :, j])
            out[...] = total
        else:
            np.matmul(xa, wa.T, out=out)  # (B, K)
        return out

    # ------------------------------------------------------------------ scans
    def scan(self, X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """BMUs (N,), exact float64 distances to them (N,) and topographic-error flags (N,).

        A miss (topographic error) is a unit other than the best that is strictly closer
        than the best unit's nearest grid neighbour, so no second argmin is needed.
        """
        wa = self.weights32(w)
        w64 = np.asarray(w, dtype=np.float64)
        best = np.empty(len(X), np.int64)
        dist, miss = np.empty(len(X)), np.empty(len(X), np.bool_)
        for start in range(0, len(X), self.spec.chunk):
            stop = min(start + self.spec.chunk, len(X))
            xa, offset = self.inputs(X, start, stop)
            out = self.distances(xa, wa)  # (B, K)
            block = out.argmin(axis=1)  # numpy's SIMD argmin
            best[start:stop] = block
            rows = np.arange(stop - start)
            top = out[rows, block]  # (B,) float32
            value = top.astype(np.float64) + offset
            table = self.spec.neighbors[block]  # (B, 8)
            around = out[rows[:, None], np.maximum(table, 0)]
            around[table < 0] = np.inf
            nearest = around.min(axis=1)  # (B,) the best unit's nearest neighbour
            closer = (out < nearest[:, None]).sum(axis=1)
            miss[start:stop] = closer > (top < nearest)
            if self.spec.distance == "euclidean":  # float32 search, exact float64 error
                value = self._winner_distances(X[start:stop], w64[block])
            dist[start:stop] = value
        return best, dist, miss

    @staticmethod
    def _winner_distances(x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Exact float64 Euclidean distances (B,) between rows of x and w (B, d), summed
        feature by feature like ``_kernels.winner_distances``: the same bits."""
        total = np.zeros(len(x))
        for j in range(x.shape[1]):
            diff = x[:, j].astype(np.float64) - w[:, j]
            total += diff * diff
        return np.sqrt(total)

    def transform(self, X: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Distances from every sample to every unit, (N, K) float32."""
        wa = self.weights32(w)
        out = np.empty((len(X), len(w)), np.float32)
        for start in range(0, len(X), self.spec.chunk):
            stop = min(start + self.spec.chunk, len(X))
            xa, offset = self.inputs(X, start, stop)
            block = out[start:stop]
            block[...] = self.distances(xa, wa)
            block += offset[:, None]
            if self.root:
                np.sqrt(np.maximum(block, 0.0, out=block), out=block)
        return out
