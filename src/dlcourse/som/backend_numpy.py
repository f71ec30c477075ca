"""CPU path of ``SOM.fit``: BLAS float32 distances in blocks, numpy's argmin, numba kernels.

One pass over the data per batch epoch: a GEMM of ``[x - c, 1]`` against ``[-2 w, |w|^2]``
gives every distance up to ``|x - c|^2``, numpy's SIMD argmin picks the best unit, and one
numba kernel adds the epoch's errors and per-unit sums. The float32 copy of the (centred) data
is made once per fit when it fits in ``CACHE_BYTES``, else block by block. The online rule is
the exact numba loop of :mod:`dlcourse.som._kernels`; batch and mini-batch smooth per-unit
statistics with the separable gaussian (or a dense neighbourhood matrix).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from dlcourse.som import _kernels
from dlcourse.som.functions import neighborhood_function
from dlcourse.som.grid import Grid
from dlcourse.som.rules import (
    SearchSpec,
    TrainSettings,
    local_rows,
    minibatch_rule,
    minibatch_update,
    multi_process,
    sum_over_ranks,
)

logger = logging.getLogger(__name__)

# the float32 copy of the training data is kept across epochs up to this size (else re-made
# block by block each epoch): it saves a pass over the data per epoch
CACHE_BYTES = 256 << 20
_WEIGHT_CODES = {"euclidean": 0, "cosine": 1, "manhattan": 2}


class NumpyRunner:
    """CPU path: BLAS float32 distances in blocks, argmin, numba errors, statistics and online.

    Takes plain values only: a :class:`SearchSpec` here, the grid and a :class:`TrainSettings`
    in :meth:`train`.
    """

    def __init__(self, spec: SearchSpec) -> None:
        self.spec = spec
        self.root = spec.distance == "euclidean"
        # X and its float32 layout (N, d + 1) with offsets (N,), kept across a fit's epochs
        self._cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._xbuf: np.ndarray | None = None  # (chunk, d + 1) float32 inputs, last column 1
        self._obuf: np.ndarray | None = None  # (chunk,) float32 row offsets
        self._dbuf: np.ndarray | None = None  # (chunk, K) float32 distances
        self._work: dict = {}  # buffers reused by Grid.gaussian_smooth

    # ------------------------------------------------------------------ float32 layouts
    def weights32(self, w: np.ndarray, centred: bool = False) -> np.ndarray:
        """Weights (K, d) as the GEMM's float32 (K, d + 1) operand (see ``_kernels.weights32``).

        ``centred``: ``w`` is already minus the data's centre (the batch loop keeps it so).
        """
        wc = w if centred else w - self.spec.center
        out = np.empty((len(wc), wc.shape[1] + 1), np.float32)
        _kernels.weights32(np.ascontiguousarray(wc, dtype=np.float64), out,
                           _WEIGHT_CODES[self.spec.distance])
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
        """Keep X's float32 layout for the following scans of this X when it is small enough."""
        self._cache = None
        if len(X) * (X.shape[1] + 1) * 4 > CACHE_BYTES:
            return
        rows, offset = np.empty((len(X), X.shape[1] + 1), np.float32), np.empty(len(X), np.float32)
        for start in range(0, len(X), self.spec.chunk):  # blockwise: no float64 temporaries
            stop = min(start + self.spec.chunk, len(X))
            self._convert(X[start:stop], rows[start:stop], offset[start:stop])
        self._cache = (X, rows, offset)

    def _inputs(self, X: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
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

    def _distances(self, xa: np.ndarray, wa: np.ndarray) -> np.ndarray:
        """(B, K) float32 distances minus each row's offset, in a reused buffer."""
        rows, units = len(xa), len(wa)
        if self._dbuf is None or self._dbuf.shape[0] < rows or self._dbuf.shape[1] != units:
            self._dbuf = np.empty((min(self.spec.chunk, max(rows, 1)), units), np.float32)
        out = self._dbuf[:rows]
        if self.spec.distance == "manhattan":
            _kernels.manhattan(xa[:, :-1], np.ascontiguousarray(wa[:, :-1]), out)
        else:
            np.matmul(xa, wa.T, out=out)  # (B, K)
        return out

    # ------------------------------------------------------------------ scans
    def _pass(self, X: np.ndarray, wa: np.ndarray, stats: np.ndarray | None,
              dist: np.ndarray, miss: np.ndarray) -> tuple[np.ndarray, float, int]:
        """One pass over X: best units (N,), per-row distance and misses written into ``dist``
        and ``miss`` (N,), statistics added into ``stats`` (K, d + 1) when given."""
        best = np.empty(len(X), np.int64)
        total, misses = 0.0, 0
        cosine = self.spec.distance == "cosine"
        none = np.empty((0, 0))
        for start in range(0, len(X), self.spec.chunk):
            stop = min(start + self.spec.chunk, len(X))
            xa, offset = self._inputs(X, start, stop)
            out = self._distances(xa, wa)
            block = out.argmin(axis=1)  # numpy's SIMD argmin
            best[start:stop] = block
            rows = none
            if stats is not None:  # cosine averages the raw rows, not the unit ones
                rows = np.column_stack([X[start:stop], np.ones(stop - start)]) if cosine else xa
            part, count = _kernels.scan_block(out, block, offset, self.spec.neighbors,
                                              self.root, dist[start:stop], miss[start:stop],
                                              rows, stats if stats is not None else none)
            total += part
            misses += count
        return best, total, misses

    def scan(self, X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """BMUs (N,), exact float64 distances to them (N,) and topographic-error flags (N,)."""
        dist, miss = np.empty(len(X)), np.empty(len(X), np.bool_)
        best, _, _ = self._pass(X, self.weights32(w), None, dist, miss)
        if self.spec.distance == "euclidean":  # float32 search, float64 error
            _kernels.winner_distances(X, np.ascontiguousarray(w, dtype=np.float64), best, dist)
        return best, dist, miss

    def transform(self, X: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Distances from every sample to every unit, (N, K) float32."""
        wa = self.weights32(w)
        out = np.empty((len(X), len(w)), np.float32)
        for start in range(0, len(X), self.spec.chunk):
            stop = min(start + self.spec.chunk, len(X))
            xa, offset = self._inputs(X, start, stop)
            block = out[start:stop]
            block[...] = self._distances(xa, wa)
            block += offset[:, None]
            if self.root:
                np.sqrt(np.maximum(block, 0.0, out=block), out=block)
        return out

    # ------------------------------------------------------------------ training
    def train(self, X: np.ndarray, w: np.ndarray, grid: Grid, settings: TrainSettings,
              rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
        """Train from start weights ``w`` (K, d); returns the weights and one dict per epoch."""
        history: list[dict] = []
        t0, c0 = time.perf_counter(), time.process_time()

        def record(epoch: int, qe: float, te: float, sigma: float, lr: float | None) -> None:
            history.append({"epoch": epoch, "quantization_error": float(qe),
                            "topographic_error": float(te), "sigma": float(sigma),
                            "learning_rate": lr, "seconds": time.perf_counter() - t0,
                            "cpu_seconds": time.process_time() - c0})
            logger.debug("som epoch %d: qe %.4f te %.4f", epoch, qe, te)

        if settings.algorithm == "batch":
            return self._train_batch(X, w, grid, settings, record), history
        if settings.algorithm == "online":
            return self._train_online(X, w, grid, settings, rng, record), history
        w = self._train_minibatch(X, w, grid, settings, rng, record)
        qe, te = self._errors(X, w)  # the last entry: the trained map's exact errors
        history[-1].update(quantization_error=qe, topographic_error=te)
        return w, history

    def _statistics(self, part: np.ndarray, wa: np.ndarray, stats: np.ndarray,
                    buffers: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
        """Add ``part``'s per-BMU sums and counts into ``stats`` (K, d + 1) and return its QE and
        TE, all summed over the torchrun ranks (one all-reduce) so every rank gets the numbers
        one process finds over all the data."""
        _, total, misses = self._pass(part, wa, stats, *buffers)
        totals = np.array([total, misses, len(part)], np.float64)
        if multi_process():
            flat = sum_over_ranks(np.concatenate([stats.ravel(), totals]))
            stats[...] = flat[:-3].reshape(stats.shape)
            totals = flat[-3:]
        return totals[0] / totals[2], totals[1] / totals[2]

    def _train_batch(self, X, w, grid: Grid, settings: TrainSettings, record) -> np.ndarray:
        part = local_rows(X)  # this rank's rows under torchrun, else all of X
        self.cache_rows(part)
        center = self.spec.center
        wc = np.asarray(w, np.float64) - center  # (K, d): the loop works on centred weights
        dense = None
        if settings.neighborhood != "gaussian":  # not separable: needs the (K, K) matrix
            h_of = neighborhood_function(settings.neighborhood)
            dense = grid.squared_distances().astype(np.float64)
        stats = np.empty((len(wc), wc.shape[1] + 1))  # (K, d + 1): per-BMU sums, then counts
        buffers = (np.empty(len(part)), np.empty(len(part), np.bool_))
        wa = self.weights32(wc, centred=True)  # (K, d + 1) float32, rewritten every epoch
        code = _WEIGHT_CODES[self.spec.distance]
        sigmas = settings.batch_sigmas()
        for epoch, sigma in enumerate(sigmas):
            stats.fill(0.0)
            qe, te = self._statistics(part, wa, stats, buffers)
            # errors of the weights after `epoch` updates, the last one made with sigmas[epoch-1]
            record(epoch, qe, te, sigmas[max(epoch - 1, 0)], None)
            if dense is None:  # separable: two 1-D passes, no (K, K)
                smoothed = grid.gaussian_smooth(stats, sigma, self._work)  # (K, d + 1)
            else:
                smoothed = h_of(dense, sigma) @ stats
            _kernels.batch_step(smoothed, wc, wa, code)  # the batch rule, in place
        w = wc + center
        record(len(sigmas), *self._final_errors(part, w), sigmas[-1], None)
        self._cache = None
        return w

    def _final_errors(self, part: np.ndarray, w: np.ndarray) -> tuple[float, float]:
        """Exact float64 QE and TE of the trained weights over all ranks' rows."""
        _, dist, miss = self.scan(part, w)
        totals = sum_over_ranks(np.array([dist.sum(), miss.sum(), len(part)], np.float64))
        return totals[0] / totals[2], totals[1] / totals[2]

    def _errors(self, X: np.ndarray, w: np.ndarray) -> tuple[float, float]:
        _, dist, miss = self.scan(X, w)
        return float(dist.mean()), float(miss.mean())

    def _train_online(self, X, w, grid: Grid, settings: TrainSettings, rng, record):
        n_samples = len(X)
        record(0, *self._errors(X, w), settings.sigma, settings.learning_rate)
        total = settings.total_steps(n_samples)
        order = settings.order_of_steps(n_samples, total, rng)
        x64 = np.ascontiguousarray(X, dtype=np.float64)
        w = np.ascontiguousarray(w, dtype=np.float64)
        grid_d2 = grid.squared_distances().astype(np.float64)  # (K, K)
        codes = (_kernels.NEIGHBORHOOD_CODES[settings.neighborhood],
                 _kernels.DECAY_CODES[settings.decay], _kernels.DISTANCE_CODES[self.spec.distance])
        for epoch, start in enumerate(range(0, total, n_samples), start=1):
            stop = min(start + n_samples, total)
            _kernels.online(x64, w, order[start:stop], start, total, grid_d2, *codes,
                            float(settings.learning_rate), float(settings.learning_rate_end),
                            float(settings.sigma), float(settings.sigma_end))
            frac = (stop - 1) / max(total - 1, 1)
            record(epoch, *self._errors(X, w), settings.sigma_at(frac),
                   settings.learning_rate_at(frac))
        return w

    def _train_minibatch(self, X, w, grid: Grid, settings: TrainSettings, rng, record):
        n_samples, dim = X.shape
        record(0, *self._errors(X, w), settings.sigma, settings.learning_rate)
        total = settings.total_steps(n_samples)
        order = settings.order_of_steps(n_samples, total, rng)
        batch = int(settings.batch_size)
        n_batches = -(-total // batch)
        center = self.spec.center
        cosine = self.spec.distance == "cosine"
        gaussian = settings.neighborhood == "gaussian"
        h_of = neighborhood_function(settings.neighborhood)
        grid_d2 = None if gaussian else grid.squared_distances()  # (K, K) float32
        stats = np.empty((len(w), dim + 1))
        dist, miss = np.empty(min(batch, n_samples)), np.empty(min(batch, n_samples), np.bool_)
        for epoch, start in enumerate(range(0, total, n_samples), start=1):
            stop = min(start + n_samples, total)
            qe_sum = te_sum = 0.0
            for b_start in range(start, stop, batch):
                idx = order[b_start:min(b_start + batch, stop)]
                frac = (b_start // batch) / max(n_batches - 1, 1)
                sigma, lr = settings.sigma_at(frac), settings.learning_rate_at(frac)
                xb = X[idx]  # (B, d)
                wa = self.weights32(w)
                if gaussian:
                    # sum_i h(k, bmu_i) x_i = sum_u h(k, u) S_u: smooth the batch's per-unit
                    # sums with the separable gaussian instead of building (K, B) weights
                    stats.fill(0.0)
                    _, part, count = self._pass(xb, wa, stats, dist, miss)
                    if not cosine:  # centred rows were summed
                        stats[:, :-1] += stats[:, -1:] * center
                    smoothed = grid.gaussian_smooth(stats, sigma, self._work)  # (K, d + 1)
                    w = minibatch_rule(w, smoothed[:, :-1], smoothed[:, -1], lr)
                else:
                    bmu, part, count = self._pass(xb, wa, None, dist, miss)
                    h = h_of(grid_d2[:, bmu], sigma)  # (K, B) float32
                    xc = (xb - center).astype(np.float32)
                    w = center + minibatch_update(w - center, xc, h, lr)
                qe_sum += part
                te_sum += count
            # like a training loss: the errors of each batch before its update, averaged
            frac = (stop - 1) / max(total - 1, 1)
            record(epoch, qe_sum / (stop - start), te_sum / (stop - start),
                   settings.sigma_at(frac), settings.learning_rate_at(frac))
        return w
