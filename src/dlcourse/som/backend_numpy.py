"""CPU path of ``SOM.fit``: BLAS float32 distances in chunks, numpy argmin top-2, numba kernels.

The online rule is the exact numba loop of :mod:`dlcourse.som._kernels`; batch and mini-batch
smooth per-unit statistics with the separable gaussian (or a dense neighbourhood matrix).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np

from dlcourse.som import _kernels
from dlcourse.som.functions import neighborhood_function
from dlcourse.som.rules import (
    batch_rule,
    local_rows,
    minibatch_rule,
    minibatch_update,
    order_of_steps,
    schedule,
    sum_over_ranks,
    total_steps,
)

if TYPE_CHECKING:
    from dlcourse.som.estimator import SOM

logger = logging.getLogger(__name__)


class NumpyRunner:
    """CPU path: BLAS float32 distances in chunks, argmin top-2, numba statistics and online."""

    def __init__(self, som: SOM) -> None:
        self.som = som
        self.chunk = som._chunk()
        self._xbuf: np.ndarray | None = None  # (chunk, d + 1) float32 inputs, last column 1
        self._dbuf: np.ndarray | None = None  # (chunk, K) float32 distances
        self._work: dict = {}  # buffers reused by Grid.gaussian_smooth

    def _prepare(self, w: np.ndarray) -> np.ndarray:
        """Float32 weights for the GEMM, shape (K, d + 1): the last column is a per-unit offset.

        Euclidean: ``|x - w|^2 = |x|^2 + (|w|^2 - 2 x.w)`` on centred data, so one GEMM of the
        inputs (with a column of ones) against ``[-2 w, |w|^2]`` gives everything but ``|x|^2``;
        cosine: ``1 - x^.w^`` with unit rows, ``[-w^, 0]``; manhattan uses the first d columns.
        """
        w32 = (w - self.som._center).astype(np.float32)  # (K, d)
        if self.som.distance == "euclidean":
            offset = np.einsum("ij,ij->i", w32, w32)
            w32 *= -2.0
        else:
            if self.som.distance == "cosine":
                w32 /= -(np.linalg.norm(w32, axis=1, keepdims=True) + 1e-12)
            offset = np.zeros(len(w32), np.float32)
        return np.ascontiguousarray(np.column_stack([w32, offset]), dtype=np.float32)

    def _distances(self, xa: np.ndarray, wa: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Fill ``out`` (B, K) with the distance minus a per-row offset; return that offset (B,).

        ``xa`` (B, d + 1) and ``wa`` (K, d + 1) come from :meth:`_chunk_input`/:meth:`_prepare`.
        """
        xc = xa[:, :-1]
        if self.som.distance == "manhattan":
            _kernels.manhattan(xc, np.ascontiguousarray(wa[:, :-1]), out)
            return np.zeros(len(xa))
        np.matmul(xa, wa.T, out=out)  # (B, K)
        if self.som.distance == "cosine":
            return np.ones(len(xa))
        return np.einsum("ij,ij->i", xc, xc).astype(np.float64)

    def _chunk_input(self, X: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Rows start:stop of X centred, float32, plus a column of ones: (B, d + 1), in a reused
        buffer (cosine: unit rows). Reuse avoids page faults for every chunk of every epoch.
        """
        rows, dim = min(self.chunk, len(X)), X.shape[1]
        if self._xbuf is None or self._xbuf.shape[0] < rows or self._xbuf.shape[1] != dim + 1:
            self._xbuf = np.ones((rows, dim + 1), np.float32)
        xa = self._xbuf[: stop - start]
        xc = xa[:, :dim]
        np.subtract(X[start:stop], self.som._center, out=xc, casting="unsafe")
        if self.som.distance == "cosine":
            xc /= np.linalg.norm(xc, axis=1, keepdims=True) + 1e-12
        return xa

    def scan(self, X: np.ndarray, w: np.ndarray, sums=None, counts=None, exact=True):
        """BMUs (N,), distances (N,) and TE flags (N,); adds sums/counts when given."""
        n_samples, n_units = len(X), len(w)
        wa = self._prepare(w)  # (K, d + 1)
        bmu = np.empty(n_samples, np.int64)
        dist = np.empty(n_samples, np.float64)
        errors = np.empty(n_samples, np.bool_)
        rows = min(self.chunk, n_samples)
        if self._dbuf is None or self._dbuf.shape[0] < rows or self._dbuf.shape[1] != n_units:
            self._dbuf = np.empty((rows, n_units), np.float32)
        accumulate = sums is not None
        before = counts.copy() if accumulate else None
        cosine = self.som.distance == "cosine"
        euclidean = self.som.distance == "euclidean"
        for start in range(0, n_samples, self.chunk):
            stop = min(start + self.chunk, n_samples)
            xa = self._chunk_input(X, start, stop)  # (B, d + 1)
            xc = xa[:, :-1]  # (B, d) centred rows
            out = self._dbuf[: stop - start]
            row_offset = self._distances(xa, wa, out)  # out (B, K): distance minus row offset
            # numpy's SIMD argmin twice (the winner masked the second time) beats one
            # branchy top-2 loop several times over
            rows_b = np.arange(stop - start)
            best = out.argmin(axis=1)  # (B,)
            value = out[rows_b, best].astype(np.float64) + row_offset
            out[rows_b, best] = np.inf
            second = out.argmin(axis=1)  # (B,)
            bmu[start:stop] = best
            dist[start:stop] = np.sqrt(np.maximum(value, 0.0)) if euclidean else value
            errors[start:stop] = ~(self.som._neighbors[best] == second[:, None]).any(axis=1)
            if accumulate:
                # sums of centred rows (the centre is added back below); cosine rows are unit
                # vectors, so there the raw rows are summed
                raw = np.ascontiguousarray(X[start:stop], np.float64) if cosine else xc
                _kernels.accumulate(raw, best, sums, counts)
            if exact and euclidean:
                # float32 search, float64 error: recompute the winner's distance exactly
                diff = X[start:stop] - w[best]
                dist[start:stop] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        if accumulate and not cosine:
            sums += (counts - before)[:, None] * self.som._center
        return bmu, dist, errors

    def transform(self, X: np.ndarray, w: np.ndarray) -> np.ndarray:
        wa = self._prepare(w)
        out = np.empty((len(X), len(w)), np.float32)
        for start in range(0, len(X), self.chunk):
            stop = min(start + self.chunk, len(X))
            block = out[start:stop]
            row_offset = self._distances(self._chunk_input(X, start, stop), wa, block)
            block += row_offset[:, None].astype(np.float32)
            if self.som.distance == "euclidean":
                np.sqrt(np.maximum(block, 0.0, out=block), out=block)
        return out

    def _batch_statistics(self, part: np.ndarray, w: np.ndarray, final: bool = False):
        """Per-BMU sums (K, d), counts (K,), QE and TE of ``part``, summed over all ranks.

        One all-reduce per call under torchrun (a flat vector of the sums, counts and error
        totals), so every rank gets the statistics one process finds over all the data.
        ``final``: the trained map's exact float64 errors only (sums and counts are None).
        """
        n_units, dim = w.shape
        if final:
            _, dist, errors = self.scan(part, w)
            stats = np.zeros(0)
        else:
            sums, counts = np.zeros((n_units, dim)), np.zeros(n_units)
            _, dist, errors = self.scan(part, w, sums, counts, exact=False)
            stats = np.concatenate([sums.ravel(), counts])  # (K d + K,)
        totals = [dist.sum(), errors.sum(), float(len(part))]
        flat = sum_over_ranks(np.concatenate([stats, totals]))
        qe, te = flat[-3] / flat[-1], flat[-2] / flat[-1]
        if final:
            return None, None, qe, te
        return flat[: n_units * dim].reshape(n_units, dim), flat[n_units * dim: -3], qe, te

    def train(self, X: np.ndarray, w: np.ndarray, rng: np.random.Generator):
        som = self.som
        lr, sigma = schedule(som)
        neigh = neighborhood_function(som.neighborhood)
        grid = som.grid
        history: list[dict] = []
        t0, c0 = time.perf_counter(), time.process_time()

        def record(epoch: int, qe: float, te: float, frac: float) -> None:
            history.append({
                "epoch": epoch,
                "quantization_error": float(qe),
                "topographic_error": float(te),
                "sigma": sigma(frac),
                "learning_rate": lr(frac) if som.algorithm != "batch" else None,
                "seconds": time.perf_counter() - t0,
                "cpu_seconds": time.process_time() - c0,
            })
            logger.debug("som epoch %d: qe %.4f te %.4f", epoch, history[-1]["quantization_error"],
                        history[-1]["topographic_error"])

        n_samples, dim = X.shape
        if som.algorithm == "batch":
            epochs = int(som.epochs)
            # other neighbourhoods are not separable: they need the (K, K) distance matrix
            dense = som._grid_d2.astype(np.float64) if som.neighborhood != "gaussian" else None
            part = local_rows(X)  # this rank's rows under torchrun, else all of X
            for epoch in range(epochs):
                sums, counts, qe, te = self._batch_statistics(part, w)
                frac = epoch / max(epochs - 1, 1)
                # errors of the weights after `epoch` updates, the last one made with sigma(prev)
                record(epoch, qe, te, max(epoch - 1, 0) / max(epochs - 1, 1))
                if som.neighborhood == "gaussian":  # separable: two 1-D passes, no (K, K)
                    stats = grid.gaussian_smooth(np.column_stack([sums, counts]),
                                                 sigma(frac), self._work)  # (K, d + 1)
                    w = batch_rule(w, stats[:, :-1], stats[:, -1])
                else:
                    h = neigh(dense, sigma(frac))  # (K, K)
                    w = batch_rule(w, h @ sums, h @ counts)
            _, _, qe, te = self._batch_statistics(part, w, final=True)
            record(epochs, qe, te, 1.0)
            return w, history

        _, dist, errors = self.scan(X, w)
        record(0, dist.mean(), errors.mean(), 0.0)
        total = total_steps(som, n_samples)
        order = order_of_steps(som, n_samples, total, rng)
        if som.algorithm == "online":
            x64 = np.ascontiguousarray(X, dtype=np.float64)
            w = np.ascontiguousarray(w, dtype=np.float64)
            grid_d2 = som._grid_d2.astype(np.float64)  # (K, K)
            codes = (_kernels.NEIGHBORHOOD_CODES[som.neighborhood],
                     _kernels.DECAY_CODES[som.decay], _kernels.DISTANCE_CODES[som.distance])
            for epoch, start in enumerate(range(0, total, n_samples), start=1):
                stop = min(start + n_samples, total)
                _kernels.online(x64, w, order[start:stop], start, total, grid_d2, *codes,
                                float(som.learning_rate), float(som.learning_rate_end),
                                som._sigma_start(), float(som.sigma_end))
                _, dist, errors = self.scan(X, w)
                record(epoch, dist.mean(), errors.mean(), (stop - 1) / max(total - 1, 1))
            return w, history

        batch = int(som.batch_size)
        n_batches = -(-total // batch)
        center = som._center
        for epoch, start in enumerate(range(0, total, n_samples), start=1):
            stop = min(start + n_samples, total)
            qe_sum = te_sum = 0.0
            for b_start in range(start, stop, batch):
                idx = order[b_start:min(b_start + batch, stop)]
                frac = (b_start // batch) / max(n_batches - 1, 1)
                xb = X[idx]  # (B, d)
                if som.neighborhood == "gaussian":
                    # sum_i h(k, bmu_i) x_i = sum_u h(k, u) S_u: smooth the batch's per-unit
                    # sums with the separable gaussian instead of building (K, B) weights
                    sums, counts = np.zeros((len(w), dim)), np.zeros(len(w))
                    _, dist, errors = self.scan(xb, w, sums, counts, exact=False)
                    stats = grid.gaussian_smooth(np.column_stack([sums, counts]),
                                                 sigma(frac), self._work)  # (K, d + 1)
                    w = minibatch_rule(w, stats[:, :-1], stats[:, -1], lr(frac))
                else:
                    bmu, dist, errors = self.scan(xb, w, exact=False)
                    # the scan left the centred float32 batch in its buffer (cosine: unit rows)
                    xc = (xb - center).astype(np.float32) if som.distance == "cosine" \
                        else self._xbuf[: len(idx), :dim]
                    h = neigh(som._grid_d2[:, bmu], sigma(frac))  # (K, B) float32
                    w = center + minibatch_update(w - center, xc, h, lr(frac))
                qe_sum += float(dist.sum())
                te_sum += float(errors.sum())
            # like a training loss: the errors of each batch before its update, averaged
            count = stop - start
            record(epoch, qe_sum / count, te_sum / count,
                   (stop - 1) / max(total - 1, 1))
        _, dist, errors = self.scan(X, w)
        history[-1]["quantization_error"] = float(np.mean(dist))
        history[-1]["topographic_error"] = float(np.mean(errors))
        return w, history
