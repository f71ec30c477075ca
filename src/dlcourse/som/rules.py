"""The update rules and schedules shared by the CPU and device paths (numpy or torch arrays).

``batch_update``/``minibatch_update`` take a neighbourhood matrix; the ``*_rule`` forms take
already smoothed statistics, for callers that smooth without building that matrix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dlcourse.som.functions import decay_function

if TYPE_CHECKING:
    from dlcourse.som.estimator import SOM


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


def schedule(som: SOM):
    """(lr(frac), sigma(frac)) closures from the estimator's decay settings."""
    decay = decay_function(som.decay)
    sigma0 = som._sigma_start()

    def lr(frac: float) -> float:
        return decay(float(som.learning_rate), float(som.learning_rate_end), frac)

    def sigma(frac: float) -> float:
        return decay(sigma0, float(som.sigma_end), frac)

    return lr, sigma


def total_steps(som: SOM, n_samples: int) -> int:
    return int(som.iterations) if som.iterations is not None else int(som.epochs) * n_samples


def order_of_steps(som: SOM, n_samples: int, total: int, rng: np.random.Generator) -> np.ndarray:
    """Sample index of each of ``total`` steps: seeded permutations per epoch, or cyclic."""
    epochs = -(-total // n_samples)
    if som.shuffle:
        order = np.concatenate([rng.permutation(n_samples) for _ in range(epochs)])
    else:
        order = np.tile(np.arange(n_samples), epochs)
    return order[:total].astype(np.int64)
