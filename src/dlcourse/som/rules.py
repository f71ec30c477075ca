"""The update rules and schedules shared by the CPU and device paths (numpy or torch arrays).

``batch_update``/``minibatch_update`` take a neighbourhood matrix; the ``*_rule`` forms take
already smoothed statistics, for callers that smooth without building that matrix.
:class:`SearchSpec` and :class:`TrainSettings` carry the plain values the backends search and
train with (never the estimator object).
``local_rows``/``sum_over_ranks`` split the batch rule's statistics over torchrun's processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from dlcourse.som.functions import decay_function


def batch_update(w, sums, counts, h):
    """Batch SOM rule: ``w_k = sum_u h_ku S_u / sum_u h_ku N_u`` (units with no mass stay put).

    ``w`` (K, d), ``sums`` (K, d) per-BMU sums of samples, ``counts`` (K,), ``h`` (K, K).
    Works on numpy arrays and torch tensors alike.
    """
    return batch_rule(w, h @ sums, h @ counts)


def batch_rule(w, numerator, denominator):
    """``w_k = numerator_k / denominator_k`` where the denominator is positive, else ``w_k``.

    ``numerator`` (K, d) and ``denominator`` (K,) are the neighbourhood-smoothed sums and counts.
    """
    ok = denominator > 1e-12
    safe = denominator + (~ok) * 1.0
    return ok[:, None] * (numerator / safe[:, None]) + (~ok)[:, None] * w


def minibatch_update(w, xb, h, lr: float):
    """Sum of the online updates of a batch, all taken at the same weights, step capped at 1.

    ``w`` (K, d), ``xb`` (B, d), ``h`` (K, B) neighbourhood of each unit to each sample's BMU:
    ``w_k += lr / max(1, lr * H_k) * sum_i h_ki (x_i - w_k)`` with ``H_k = sum_i h_ki``. With one
    sample per batch this is exactly the online rule.
    """
    return minibatch_rule(w, h @ xb, h.sum(1), lr)


def minibatch_rule(w, pulled, mass, lr: float):
    """``w_k += lr / max(1, lr * mass_k) * (pulled_k - mass_k w_k)``.

    ``pulled`` (K, d) is ``sum_i h_ki x_i`` and ``mass`` (K,) is ``sum_i h_ki`` over a batch.
    """
    pull = pulled - mass[:, None] * w  # (K, d)
    scale = lr / (1.0 + (lr * mass - 1.0) * (lr * mass > 1.0))  # (K,)
    return w + scale[:, None] * pull


@dataclass(frozen=True, eq=False)
class SearchSpec:
    """What a best-matching-unit search needs, as plain values.

    ``neighbors`` (K, 8) int32: the adjacent units of each unit, valid indices first and -1
    padding (``Grid.neighbors``), for the topographic error; ``distance``: euclidean, cosine or
    manhattan; ``center`` (d,): subtracted from inputs and weights before float32 products
    (zeros for cosine); ``chunk``: rows per block of distances, bounding memory.
    """

    neighbors: np.ndarray
    distance: str
    center: np.ndarray
    chunk: int


@dataclass(frozen=True)
class TrainSettings:
    """What a backend trains with: the algorithm, its length and its schedules, as plain values.

    ``sigma`` is the resolved start radius; ``iterations`` (online/minibatch) overrides
    ``epochs * N`` steps.

    >>> s = TrainSettings("batch", 3, sigma=4.0, sigma_end=1.0, decay="linear")
    >>> [s.sigma_at(f) for f in (0.0, 0.5, 1.0)]
    [4.0, 2.5, 1.0]
    """

    algorithm: str
    epochs: int
    iterations: int | None = None
    batch_size: int = 256
    shuffle: bool = True
    neighborhood: str = "gaussian"
    decay: str = "inverse_time"
    learning_rate: float = 0.5
    learning_rate_end: float = 0.01
    sigma: float = 1.0
    sigma_end: float = 0.5

    def sigma_at(self, frac: float) -> float:
        """Neighbourhood radius after ``frac`` (0..1) of training."""
        return decay_function(self.decay)(self.sigma, self.sigma_end, frac)

    def learning_rate_at(self, frac: float) -> float:
        """Learning rate after ``frac`` (0..1) of training (online and mini-batch)."""
        return decay_function(self.decay)(self.learning_rate, self.learning_rate_end, frac)

    def batch_sigmas(self) -> list[float]:
        """Radius of each batch epoch: the schedule sampled from start to end over the epochs."""
        last = max(self.epochs - 1, 1)
        return [self.sigma_at(epoch / last) for epoch in range(self.epochs)]

    def total_steps(self, n_samples: int) -> int:
        """Samples visited by the online and mini-batch rules."""
        return int(self.iterations) if self.iterations is not None else self.epochs * n_samples

    def order_of_steps(self, n_samples: int, total: int, rng: np.random.Generator) -> np.ndarray:
        """Sample index of each of ``total`` steps: seeded permutations per epoch, or cyclic."""
        epochs = -(-total // n_samples)
        if self.shuffle:
            order = np.concatenate([rng.permutation(n_samples) for _ in range(epochs)])
        else:
            order = np.tile(np.arange(n_samples), epochs)
        return order[:total].astype(np.int64)


def multi_process() -> bool:
    """True under torchrun with several processes and the process group up.

    Reads ``WORLD_SIZE`` first so that a single process never imports torch (the CPU path of
    the SOM does not need it); the engine's check then confirms the group is initialised.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    from dlcourse.engine.distributed import is_distributed

    return is_distributed()


def local_rows(X):
    """This rank's rows of ``X`` (every ``world``-th row from ``rank``); all of X for one process.

    Every rank passes the whole data set to ``SOM.fit`` and scans only its share of it.
    """
    if not multi_process():
        return X
    from dlcourse.engine.distributed import shard

    return shard(X)


def sum_over_ranks(values):
    """Sum ``values`` (a numpy array or a torch tensor) over all ranks; unchanged for one process.

    The batch rule's statistics are sums over samples, so the sum of every rank's partial
    statistics is what one process computes over all the data (up to float rounding).
    """
    if not multi_process():
        return values
    from dlcourse.engine.distributed import all_reduce_sum

    if isinstance(values, np.ndarray):
        import torch

        reduced = all_reduce_sum(torch.from_numpy(np.ascontiguousarray(values)))
        return reduced.cpu().numpy()
    return all_reduce_sum(values)
