"""CPU training loops of ``SOM.fit``: the batch, online and mini-batch rules over
:class:`~dlcourse.som.compiled_search.CompiledSearch`, resumable at every safe point.

Batch epochs smooth the per-unit sums of one pass with the separable gaussian (or a dense
neighbourhood matrix) and move every unit at once (a small problem's epochs are one compiled
call, :func:`dlcourse.som._small_kernels.small_batch_epochs`); the online rule is the exact
numba loop of :mod:`dlcourse.som._kernels`, run in chunks of ``ONLINE_CHUNK`` samples;
mini-batches sum that rule over a batch. Every loop starts from a
:class:`~dlcourse.som.rules.TrainState` and stops only where that state says everything
(between epochs, chunks or batches), so a run resumed from a checkpoint computes the same bits
as one never stopped.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlcourse.som import _kernels, _small_kernels
from dlcourse.som.backend_numpy import WEIGHT_CODES
from dlcourse.som.compiled_search import CompiledSearch
from dlcourse.som.functions import neighborhood_function
from dlcourse.som.grid import Grid
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

# A batch epoch is one compiled call (no BLAS, no Python in between) when rows x units x
# (d + 1), and the smoothing's units x (m + n) x (d + 1), are at most this: below it the
# per-call costs outweigh the arithmetic (wine, 178 x 13 on 8x8: a fit 2.5x faster; about
# 0.85M the two paths are even, above it the GEMM is faster)
SMALL_WORK = 1 << 19
# ... and runs as many epochs a call as fit in this much of that work (about 20 ms: a Ctrl-C
# waits no longer for the next safe point)
SMALL_CALL_WORK = 1 << 25


class SmallProblem(NamedTuple):
    """What a small problem's compiled epoch takes besides the weights (see
    :meth:`NumpyRunner._small_problem`)."""

    xa: np.ndarray  # (N, d + 1) float32 centred rows and a column of ones
    offset: np.ndarray  # (N,) float32 |x - c|^2
    across2: np.ndarray  # (m, m) squared row offsets
    along2: np.ndarray  # (P, P, n, n) squared column offsets per row parity


class NumpyRunner(CompiledSearch):
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

    # ------------------------------------------------------------------ training
    def warm(self) -> None:
        """Load numba's compiler before the training clock starts (see ``_kernels.warm``): the
        first epoch's seconds then compare with the others'."""
        _kernels.warm()

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

    def _small_problem(self, part: np.ndarray, grid: Grid,
                       dense: np.ndarray | None) -> SmallProblem | None:
        """The arrays :func:`_small_kernels.small_batch_epoch` takes besides the weights, when one
        call per epoch is the faster way (Euclidean, the separable gaussian, one process, a
        small problem), else None."""
        units, width = grid.size, part.shape[1] + 1
        if (dense is not None or self.spec.distance != "euclidean" or multi_process()
                or len(part) * units * width > SMALL_WORK
                or units * (grid.m + grid.n) * width > SMALL_WORK):
            return None
        xa, offset = np.empty((len(part), width), np.float32), np.empty(len(part), np.float32)
        self._convert(part, xa, offset)
        return SmallProblem(xa, offset, *grid.separable_offsets())

    def _train_batch(self, X, state: TrainState, grid: Grid, settings: TrainSettings,
                     control: Control) -> TrainState:
        part = local_rows(X)  # this rank's rows under torchrun, else all of X
        dense = None
        if settings.neighborhood != "gaussian":  # not separable: needs the (K, K) matrix
            h_of = neighborhood_function(settings.neighborhood)
            dense = grid.squared_distances().astype(np.float64)
        small = self._small_problem(part, grid, dense)
        if small is None:
            self.cache_rows(part)
            self.prune_with(part)
        center = self.spec.center
        if not state.centred:  # (K, d): the loop works on centred weights, in place
            state.weights, state.centred = np.asarray(state.weights, np.float64) - center, True
        wc = np.ascontiguousarray(state.weights, dtype=np.float64)
        state.weights = wc
        stats = np.empty((len(wc), wc.shape[1] + 1))  # (K, d + 1): per-BMU sums, then counts
        buffers = (np.empty(len(part)), np.empty(len(part), np.bool_))
        # (K, d + 1) float32, rewritten by every batch step exactly as weights32 would make it,
        # so a resumed run rebuilds the same operand from the saved weights
        wa = self.weights32(wc, centred=True)
        sigmas = settings.batch_sigmas()
        if small is not None:
            errors = self._small_epochs(part, state, small, sigmas, wc, wa, stats, buffers,
                                        control)
            if errors is None:
                return state
        for epoch in range(state.epoch, len(sigmas)):
            stats.fill(0.0)
            qe, te = self._statistics(part, wa, stats, buffers)
            # errors of the weights after `epoch` updates, the last one made with sigmas[epoch-1]
            control.record(state, epoch, qe, te, sigmas[max(epoch - 1, 0)], None)
            if dense is None:  # separable: two 1-D passes, no (K, K)
                smoothed = grid.gaussian_smooth(stats, sigmas[epoch], self.work)  # (K, d + 1)
            else:
                smoothed = h_of(dense, sigmas[epoch]) @ stats
            _kernels.batch_step(smoothed, wc, wa, WEIGHT_CODES[self.spec.distance])
            state.epoch = epoch + 1
            control.step()
            control.epoch_done(state)
            if control.should_stop() and state.epoch < len(sigmas):
                self.drop_cache()
                state.stopped = True
                return state
        w = wc + center
        if small is None:
            errors = self._final_errors(part, w)
        control.record(state, len(sigmas), *errors, sigmas[-1], None)
        self.drop_cache()
        state.weights, state.centred, state.finished = w, False, True
        return state

    def _small_epochs(self, part: np.ndarray, state: TrainState, small: SmallProblem,
                      sigmas: list[float], wc: np.ndarray, wa: np.ndarray, stats: np.ndarray,
                      buffers: tuple[np.ndarray, np.ndarray],
                      control: Control) -> tuple[float, float] | None:
        """A small problem's remaining batch epochs, as many a compiled call as
        ``SMALL_CALL_WORK`` and the next stop check allow (on wine, 10 epochs and the trained
        map's scan in one call instead of eleven calls and their Python); the history and checks
        then per epoch as the GEMM path makes them. Returns the trained map's QE and TE (exact
        float64 distances, as :meth:`_final_errors`), or None when it stopped early
        (``state.stopped``)."""
        work = len(part) * len(wc) * (wc.shape[1] + 1)
        best = np.empty(len(part), np.int64)
        dists = np.empty((len(part), len(wc)), np.float32)
        totals, misses = np.empty(len(sigmas)), np.empty(len(sigmas), np.int64)
        radii = np.asarray(sigmas, np.float64)
        final = -1  # the trained map's misses, once the last call has scanned it
        while state.epoch < len(sigmas):
            start = state.epoch
            count = min(len(sigmas) - start, max(1, SMALL_CALL_WORK // work),
                        control.steps_allowed() or len(sigmas))
            final = _small_kernels.small_batch_epochs(
                small.xa, small.offset, wa, wc, self.spec.neighbors, small.across2,
                small.along2, radii[start:start + count], WEIGHT_CODES[self.spec.distance],
                start + count == len(sigmas), *buffers, best, dists, stats, totals, misses)
            for epoch in range(start, start + count):
                control.record(state, epoch, totals[epoch - start] / len(part),
                               misses[epoch - start] / len(part), sigmas[max(epoch - 1, 0)],
                               None)
                control.step()
            state.epoch = start + count
            control.epoch_done(state)
            if control.should_stop() and state.epoch < len(sigmas):
                state.stopped = True
                return None
        if final < 0:  # resumed from a checkpoint written after the last epoch: scan only
            final = _small_kernels.small_batch_epochs(
                small.xa, small.offset, wa, wc, self.spec.neighbors, small.across2,
                small.along2, radii[:0], WEIGHT_CODES[self.spec.distance], True, *buffers,
                best, dists, stats, totals, misses)
        dist = buffers[0]
        _kernels.winner_distances(part, wc + self.spec.center, best, dist)
        return float(dist.mean()), final / len(part)

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
