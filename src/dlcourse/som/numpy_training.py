"""CPU training loops of ``SOM.fit``: the batch, online and mini-batch rules over
:class:`~dlcourse.som.backend_numpy.NumpySearch`, resumable at every safe point.

Batch epochs smooth the per-unit sums of one pass with the separable gaussian (or a dense
neighbourhood matrix) and move every unit at once; the online rule is the exact numba loop of
:mod:`dlcourse.som._kernels`, run in chunks of ``ONLINE_CHUNK`` samples; mini-batches sum that
rule over a batch. Every loop starts from a :class:`~dlcourse.som.rules.TrainState` and stops
only where that state says everything (between epochs, chunks or batches), so a run resumed
from a checkpoint computes the same bits as one never stopped.
"""

from __future__ import annotations

import numpy as np

from dlcourse.som import _kernels
from dlcourse.som.backend_numpy import WEIGHT_CODES, NumpySearch
from dlcourse.som.functions import neighborhood_function
from dlcourse.som.grid import Grid
from dlcourse.som.init import top_components
from dlcourse.som.rules import (
    ONLINE_CHUNK,
    Control,
    TrainSettings,
    TrainState,
    local_rows,
    minibatch_rule,
    minibatch_update,
    multi_process,
    sum_over_ranks,
)

# Batch training prunes its best-unit search on wide data: a GEMM over PRUNE_RANK principal
# axes bounds every distance from below, and only the few units the bound cannot rule out get
# an exact one. Below PRUNE_MIN_DIM features the full GEMM is already cheap.
PRUNE_MIN_DIM = 128
PRUNE_RANK = 48
PRUNE_ROWS = 512  # evenly spaced rows estimate the axes: any orthonormal basis is exact
# float32 rounding margin of a bound and a distance, relative to |x - c|^2 + max |w - c|^2
PRUNE_SLACK = 1e-4


class NumpyRunner(NumpySearch):
    """CPU path: the search (with its numba kernels) plus the three training rules, all from
    plain values.

    Example:
        >>> X = np.random.default_rng(0).normal(size=(80, 3))
        >>> from dlcourse.som.rules import SearchSpec
        >>> grid = Grid(4, 4)
        >>> runner = NumpyRunner(SearchSpec(grid.neighbors(), "euclidean", X.mean(0), 64))
        >>> state = runner.train(X, TrainState(X[:16].copy()), grid, TrainSettings("batch", 3))
        >>> state.finished, len(state.history), state.weights.shape
        (True, 4, (16, 3))
    """

    _basis: np.ndarray | None = None  # (d, k) float32 pruning axes, see prune_with
    _bounds: np.ndarray | None = None

    # ------------------------------------------------------------------ compiled search
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

    # ------------------------------------------------------------------ training
    def train(self, X: np.ndarray, state: TrainState, grid: Grid, settings: TrainSettings,
              control: Control | None = None) -> TrainState:
        """Train from ``state`` until done or until ``control`` asks to stop.

        Args:
            X: the data (N, d).
            state: where to start (fresh start weights, or a checkpoint's state).
            grid: the map's grid.
            settings: algorithm, length and schedules.
            control: records epochs, counts steps, says when to stop, saves checkpoints
                (default: none of that).

        Returns:
            ``state`` advanced: ``finished`` with the trained (uncentred) weights, or
            ``stopped`` at a safe point.
        """
        control = control or Control()
        self.work: dict = {}  # buffers reused by Grid.gaussian_smooth across epochs
        if settings.algorithm == "batch":
            return self._train_batch(X, state, grid, settings, control)
        if settings.algorithm == "online":
            return self._train_online(X, state, grid, settings, control)
        return self._train_minibatch(X, state, grid, settings, control)

    def errors(self, X: np.ndarray, w: np.ndarray) -> tuple[float, float]:
        """Exact quantization and topographic error of weights ``w`` (K, d) on ``X``."""
        _, dist, miss = self.scan(X, w)
        return float(dist.mean()), float(miss.mean())

    # ------------------------------------------------------------------ batch
    def _statistics(self, part: np.ndarray, wa: np.ndarray, stats: np.ndarray,
                    buffers: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
        """Add ``part``'s per-BMU sums and counts into ``stats`` (K, d + 1) and return its QE and
        TE, all summed over the torchrun ranks (one all-reduce) so every rank gets the numbers
        one process finds over all the data."""
        _, total, misses = self.accumulate(part, wa, stats, *buffers)
        totals = np.array([total, misses, len(part)], np.float64)
        if multi_process():
            flat = sum_over_ranks(np.concatenate([stats.ravel(), totals]))
            stats[...] = flat[:-3].reshape(stats.shape)
            totals = flat[-3:]
        return totals[0] / totals[2], totals[1] / totals[2]

    def _final_errors(self, part: np.ndarray, w: np.ndarray) -> tuple[float, float]:
        """Exact float64 QE and TE of the trained weights over all ranks' rows."""
        _, dist, miss = self.scan(part, w)
        totals = sum_over_ranks(np.array([dist.sum(), miss.sum(), len(part)], np.float64))
        return totals[0] / totals[2], totals[1] / totals[2]

    def _train_batch(self, X, state: TrainState, grid: Grid, settings: TrainSettings,
                     control: Control) -> TrainState:
        part = local_rows(X)  # this rank's rows under torchrun, else all of X
        self.cache_rows(part)
        self.prune_with(part)
        center = self.spec.center
        if not state.centred:  # (K, d): the loop works on centred weights, in place
            state.weights, state.centred = np.asarray(state.weights, np.float64) - center, True
        wc = np.ascontiguousarray(state.weights, dtype=np.float64)
        state.weights = wc
        dense = None
        if settings.neighborhood != "gaussian":  # not separable: needs the (K, K) matrix
            h_of = neighborhood_function(settings.neighborhood)
            dense = grid.squared_distances().astype(np.float64)
        stats = np.empty((len(wc), wc.shape[1] + 1))  # (K, d + 1): per-BMU sums, then counts
        buffers = (np.empty(len(part)), np.empty(len(part), np.bool_))
        # (K, d + 1) float32, rewritten by every batch step exactly as weights32 would make it,
        # so a resumed run rebuilds the same operand from the saved weights
        wa = self.weights32(wc, centred=True)
        code = WEIGHT_CODES[self.spec.distance]
        sigmas = settings.batch_sigmas()
        for epoch in range(state.epoch, len(sigmas)):
            stats.fill(0.0)
            qe, te = self._statistics(part, wa, stats, buffers)
            # errors of the weights after `epoch` updates, the last one made with sigmas[epoch-1]
            control.record(state, epoch, qe, te, sigmas[max(epoch - 1, 0)], None)
            if dense is None:  # separable: two 1-D passes, no (K, K)
                smoothed = grid.gaussian_smooth(stats, sigmas[epoch], self.work)  # (K, d + 1)
            else:
                smoothed = h_of(dense, sigmas[epoch]) @ stats
            _kernels.batch_step(smoothed, wc, wa, code)  # the batch rule, in place
            state.epoch = epoch + 1
            control.step()
            control.epoch_done(state)
            if control.should_stop() and state.epoch < len(sigmas):
                self.drop_cache()
                state.stopped = True
                return state
        w = wc + center
        control.record(state, len(sigmas), *self._final_errors(part, w), sigmas[-1], None)
        self.drop_cache()
        state.weights, state.centred, state.finished = w, False, True
        return state

    # ------------------------------------------------------------------ online
    def _train_online(self, X, state: TrainState, grid: Grid, settings: TrainSettings,
                      control: Control) -> TrainState:
        n_samples = len(X)
        w = np.ascontiguousarray(state.weights, dtype=np.float64)  # updated in place
        state.weights = w
        if not state.history:
            control.record(state, 0, *self.errors(X, w), settings.sigma, settings.learning_rate)
        total = settings.total_steps(n_samples)
        order = state.order(settings, n_samples)  # (total,)
        x64 = np.ascontiguousarray(X, dtype=np.float64)
        grid_d2 = grid.squared_distances().astype(np.float64)  # (K, K)
        codes = (_kernels.NEIGHBORHOOD_CODES[settings.neighborhood],
                 _kernels.DECAY_CODES[settings.decay], _kernels.DISTANCE_CODES[self.spec.distance])
        schedule = (float(settings.learning_rate), float(settings.learning_rate_end),
                    float(settings.sigma), float(settings.sigma_end))
        n_epochs = -(-total // n_samples)
        for epoch in range(state.epoch, n_epochs):
            stop = min((epoch + 1) * n_samples, total)
            while state.step < stop:  # the kernel's step index is global: chunks are exact
                end = min(state.step + ONLINE_CHUNK, stop)
                _kernels.online(x64, w, order[state.step:end], state.step, total, grid_d2,
                                *codes, *schedule)
                state.step = end
                control.step()
                if end < stop and control.should_stop():
                    state.stopped = True
                    return state
            frac = (stop - 1) / max(total - 1, 1)
            control.record(state, epoch + 1, *self.errors(X, w), settings.sigma_at(frac),
                           settings.learning_rate_at(frac))
            state.epoch = epoch + 1
            control.epoch_done(state)
            if control.should_stop() and state.epoch < n_epochs:
                state.stopped = True
                return state
        state.finished = True
        return state

    # ------------------------------------------------------------------ mini-batch
    def _train_minibatch(self, X, state: TrainState, grid: Grid, settings: TrainSettings,
                         control: Control) -> TrainState:
        n_samples, dim = X.shape
        w = np.asarray(state.weights, dtype=np.float64)
        if not state.history:
            control.record(state, 0, *self.errors(X, w), settings.sigma, settings.learning_rate)
        total = settings.total_steps(n_samples)
        order = state.order(settings, n_samples)  # (total,)
        batch = int(settings.batch_size)
        n_batches = -(-total // batch)
        n_epochs = -(-total // n_samples)
        center = self.spec.center
        cosine = self.spec.distance == "cosine"
        gaussian = settings.neighborhood == "gaussian"
        h_of = neighborhood_function(settings.neighborhood)
        grid_d2 = None if gaussian else grid.squared_distances()  # (K, K) float32
        stats = np.empty((len(w), dim + 1))
        dist, miss = np.empty(min(batch, n_samples)), np.empty(min(batch, n_samples), np.bool_)
        for epoch in range(state.epoch, n_epochs):
            start, stop = epoch * n_samples, min((epoch + 1) * n_samples, total)
            qe_sum, te_sum = state.sums if state.step > start else (0.0, 0.0)
            while state.step < stop:
                b_start = state.step
                idx = order[b_start:min(b_start + batch, stop)]
                frac = (b_start // batch) / max(n_batches - 1, 1)
                sigma, lr = settings.sigma_at(frac), settings.learning_rate_at(frac)
                xb = X[idx]  # (B, d)
                wa = self.weights32(w)
                if gaussian:
                    # sum_i h(k, bmu_i) x_i = sum_u h(k, u) S_u: smooth the batch's per-unit
                    # sums with the separable gaussian instead of building (K, B) weights
                    stats.fill(0.0)
                    _, part, count = self.accumulate(xb, wa, stats, dist, miss)
                    if not cosine:  # centred rows were summed
                        stats[:, :-1] += stats[:, -1:] * center
                    smoothed = grid.gaussian_smooth(stats, sigma, self.work)  # (K, d + 1)
                    w = minibatch_rule(w, smoothed[:, :-1], smoothed[:, -1], lr)
                else:
                    bmu, part, count = self.accumulate(xb, wa, None, dist, miss)
                    h = h_of(grid_d2[:, bmu], sigma)  # (K, B) float32
                    xc = (xb - center).astype(np.float32)
                    w = center + minibatch_update(w - center, xc, h, lr)
                qe_sum += part
                te_sum += count
                state.weights, state.step, state.sums = w, b_start + len(idx), (qe_sum, te_sum)
                control.step()
                if state.step < stop and control.should_stop():
                    state.stopped = True
                    return state
            # like a training loss: the errors of each batch before its update, averaged
            frac = (stop - 1) / max(total - 1, 1)
            control.record(state, epoch + 1, qe_sum / (stop - start), te_sum / (stop - start),
                           settings.sigma_at(frac), settings.learning_rate_at(frac))
            state.epoch, state.sums = epoch + 1, (0.0, 0.0)
            if state.epoch == n_epochs:  # the last entry: the trained map's exact errors
                qe, te = self.errors(X, w)
                state.history[-1].update(quantization_error=qe, topographic_error=te)
            control.epoch_done(state)
            if control.should_stop() and state.epoch < n_epochs:
                state.stopped = True
                return state
        state.finished = True
        return state
