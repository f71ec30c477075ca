"""Device path of ``SOM.fit`` (CUDA, MPS, or the CPU for tests): the same algorithms in torch.

Float32 on the device; the data are copied to the device once when they fit in
``RESIDENT_BYTES``, else chunk by chunk. Training starts from a
:class:`~dlcourse.som.rules.TrainState` and stops only between epochs, mini-batches or chunks
of online samples, like the CPU path, so checkpoints and resume work the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse.som.functions import neighborhood_function
from dlcourse.som.grid import Grid
from dlcourse.som.rules import (
    ONLINE_CHUNK,
    Control,
    SearchSpec,
    TrainSettings,
    TrainState,
    batch_update,
    local_rows,
    minibatch_update,
    sum_over_ranks,
)

# the data go to the device once when they take at most this much (float32)
RESIDENT_BYTES = 2 << 30


class TorchRunner:
    """Device path: the same algorithms as torch tensor code (float32 on the device).

    Takes plain values: a :class:`SearchSpec` and the device here, the grid and a
    :class:`TrainSettings` in :meth:`train`.
    """

    def __init__(self, spec: SearchSpec, device: str) -> None:
        import torch

        self.torch = torch
        self.distance = spec.distance
        self.device = torch.device(device)
        self.chunk = spec.chunk
        self.neighbors = torch.as_tensor(spec.neighbors, dtype=torch.long, device=self.device)
        self.center = torch.as_tensor(spec.center, dtype=torch.float32, device=self.device)
        self.center64 = np.asarray(spec.center, dtype=np.float64)  # (d,) to uncentre weights

    def _tensor(self, a) -> Any:
        return self.torch.as_tensor(np.asarray(a), dtype=self.torch.float32, device=self.device)

    def _input(self, X, start: int, stop: int):
        """Rows start:stop as a float32 device tensor (B, d); X is numpy or a device tensor."""
        if isinstance(X, self.torch.Tensor):
            return X[start:stop]
        return self._tensor(X[start:stop])

    def _resident(self, X: np.ndarray):
        """X moved to the device once when it fits in RESIDENT_BYTES, else left on the host."""
        if X.shape[0] * X.shape[1] * 4 <= RESIDENT_BYTES:
            return self._tensor(X)  # (N, d)
        return X

    def _distances(self, xc, w):
        """Full distances (B, K) of raw inputs xc (B, d) to weights w (K, d)."""
        torch = self.torch
        if self.distance == "manhattan":
            return torch.cdist(xc, w, p=1)
        if self.distance == "cosine":
            xn = torch.nn.functional.normalize(xc, dim=1, eps=1e-12)
            wn = torch.nn.functional.normalize(w, dim=1, eps=1e-12)
            return 1.0 - xn @ wn.T
        xs, ws = xc - self.center, w - self.center
        d2 = (xs * xs).sum(1, keepdim=True) - 2.0 * xs @ ws.T + (ws * ws).sum(1)[None, :]
        return d2.clamp_min(0.0).sqrt()

    def _scan_tensor(self, X, w, sums=None, counts=None):
        """(bmu, dist, errors) tensors for all of X, accumulating the batch statistics."""
        torch = self.torch
        bmus, dists, errs = [], [], []
        for start in range(0, len(X), self.chunk):
            stop = min(start + self.chunk, len(X))
            xc = self._input(X, start, stop)
            d = self._distances(xc, w)  # (B, K)
            top = torch.topk(d, 2, dim=1, largest=False)
            bmu, second = top.indices[:, 0], top.indices[:, 1]
            adjacent = (self.neighbors[bmu] == second[:, None]).any(1)
            bmus.append(bmu)
            dists.append(top.values[:, 0])
            errs.append(~adjacent)
            if sums is not None:
                sums.index_add_(0, bmu, xc)
                counts += torch.bincount(bmu, minlength=len(w)).to(counts.dtype)
        return torch.cat(bmus), torch.cat(dists), torch.cat(errs)

    def warm(self) -> None:
        """Nothing to load before the clock starts (the numpy runner loads numba here)."""

    def scan(self, X: np.ndarray, w: np.ndarray):
        bmu, dist, errors = self._scan_tensor(X, self._tensor(w))
        return bmu.cpu().numpy().astype(np.int64), dist.double().cpu().numpy(), \
            errors.cpu().numpy().astype(np.int8)

    def transform(self, X: np.ndarray, w: np.ndarray) -> np.ndarray:
        wt = self._tensor(w)
        return np.concatenate([
            self._distances(self._input(X, s, min(s + self.chunk, len(X))), wt).cpu().numpy()
            for s in range(0, len(X), self.chunk)
        ])

    def _batch_statistics(self, part, w):
        """Per-BMU sums (K, d), counts (K,), QE and TE of ``part`` (host or device rows),
        summed over all ranks with one all-reduce of a flat float64 vector."""
        torch = self.torch
        n_units, dim = w.shape
        sums = torch.zeros_like(w)  # (K, d) float32
        counts = torch.zeros(n_units, device=self.device)
        _, dist, errors = self._scan_tensor(part, w, sums, counts)
        totals = torch.stack([dist.double().sum(), errors.double().sum(),
                              torch.tensor(float(len(part)), dtype=torch.float64,
                                           device=self.device)])
        flat = sum_over_ranks(torch.cat([sums.double().ravel(), counts.double(), totals]))
        qe, te = float(flat[-3] / flat[-1]), float(flat[-2] / flat[-1])
        sums = flat[: n_units * dim].reshape(n_units, dim).to(w.dtype)
        return sums, flat[n_units * dim: -3].to(w.dtype), qe, te

    def train(self, X: np.ndarray, state: TrainState, grid: Grid, settings: TrainSettings,
              control: Control | None = None) -> TrainState:
        """Train from ``state`` until done or until ``control`` asks to stop (see
        :meth:`dlcourse.som.numpy_training.NumpyRunner.train`); returns ``state`` advanced,
        its weights float64 on the host."""
        control = control or Control()
        neigh = neighborhood_function(settings.neighborhood)
        d2 = self.torch.as_tensor(grid.squared_distances(), device=self.device)  # (K, K) float32
        if state.centred:  # a checkpoint of the CPU batch loop
            state.weights, state.centred = state.weights + self.center64, False
        wt = self._tensor(state.weights)  # (K, d); float64 -> float32 -> float64 is exact
        X = self._resident(X)  # one host-to-device copy per fit instead of one per epoch

        def host():
            return wt.double().cpu().numpy()

        if settings.algorithm == "batch":
            part = local_rows(X)  # this rank's rows under torchrun, else all of X
            sigmas = settings.batch_sigmas()
            for epoch in range(state.epoch, len(sigmas)):
                sums, counts, qe, te = self._batch_statistics(part, wt)
                control.record(state, epoch, qe, te, sigmas[max(epoch - 1, 0)], None)
                wt = batch_update(wt, sums, counts, neigh(d2, sigmas[epoch]))
                state.epoch = epoch + 1
                control.step()
                control.epoch_done(state, host)
                if control.should_stop() and state.epoch < len(sigmas):
                    return self._stopped(state, host())
            _, _, qe, te = self._batch_statistics(part, wt)
            control.record(state, len(sigmas), qe, te, sigmas[-1], None)
            state.weights, state.finished = host(), True
            return state

        n_samples = len(X)
        if not state.history:
            control.record(state, 0, *self._errors(X, wt), settings.sigma,
                           settings.learning_rate)
        total = settings.total_steps(n_samples)
        order = state.order(settings, n_samples)  # (total,)
        batch = 1 if settings.algorithm == "online" else int(settings.batch_size)
        n_batches = -(-total // batch)
        # a step of DLCOURSE_INTERRUPT_AFTER: one mini-batch, or ONLINE_CHUNK online samples
        per_step = ONLINE_CHUNK if batch == 1 else 1
        n_epochs = -(-total // n_samples)
        for epoch in range(state.epoch, n_epochs):
            stop = min((epoch + 1) * n_samples, total)
            done = 0
            while state.step < stop:
                b_start = state.step
                idx = order[b_start:min(b_start + batch, stop)]
                xb = X[self.torch.as_tensor(idx, device=self.device)] if isinstance(
                    X, self.torch.Tensor) else self._tensor(X[idx])  # (B, d)
                step = b_start if batch == 1 else b_start // batch
                frac = step / max((total if batch == 1 else n_batches) - 1, 1)
                bmu = self._distances(xb, wt).argmin(1)  # (B,)
                h = neigh(d2[:, bmu], settings.sigma_at(frac))  # (K, B)
                wt = minibatch_update(wt, xb, h, settings.learning_rate_at(frac))
                state.step = b_start + len(idx)
                done += 1
                if done % per_step == 0 or state.step == stop:
                    control.step()
                    if state.step < stop and control.should_stop():
                        return self._stopped(state, host())
            frac = (stop - 1) / max(total - 1, 1)
            control.record(state, epoch + 1, *self._errors(X, wt), settings.sigma_at(frac),
                           settings.learning_rate_at(frac))
            state.epoch = epoch + 1
            control.epoch_done(state, host)
            if control.should_stop() and state.epoch < n_epochs:
                return self._stopped(state, host())
        state.weights, state.finished = host(), True
        return state

    def _errors(self, X, wt) -> tuple[float, float]:
        _, dist, errors = self._scan_tensor(X, wt)
        return float(dist.double().mean()), float(errors.double().mean())

    @staticmethod
    def _stopped(state: TrainState, weights: np.ndarray) -> TrainState:
        state.weights, state.stopped = weights, True
        return state
