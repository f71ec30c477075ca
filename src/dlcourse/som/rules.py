"""The update rules and schedules shared by the CPU and device paths (numpy or torch arrays).

``batch_update``/``minibatch_update`` take a neighbourhood matrix; the ``*_rule`` forms take
already smoothed statistics, for callers that smooth without building that matrix.
:class:`SearchSpec` and :class:`TrainSettings` carry the plain values the backends search and
train with (never the estimator object); :class:`TrainState` is where a run stands (what a
checkpoint holds and a resumed run starts from).
``local_rows``/``sum_over_ranks`` split the batch rule's statistics over torchrun's processes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlcourse.som.functions import decay_function

logger = logging.getLogger(__name__)


def batch_update(w, sums, counts, h):
    """Batch SOM rule: ``w_k = sum_u h_ku S_u / sum_u h_ku N_u`` (units with no mass stay put).

    ``w`` (K, d), ``sums`` (K, d) per-BMU sums of samples, ``counts`` (K,), ``h`` (K, K).
    Works on numpy arrays and torch tensors alike.

    Args:
        w: (K, d) current unit weights (kept where a unit has no mass).
        sums: (K, d) sum ``S_u`` of the samples whose best unit is ``u``.
        counts: (K,) number ``N_u`` of those samples.
        h: (K, K) neighbourhood weights ``h_ku`` of unit ``u`` seen from unit ``k``.

    Returns:
        The new weights (K, d); ``w`` is not modified.
    """
    return batch_rule(w, h @ sums, h @ counts)


def batch_rule(w, numerator, denominator):
    """``w_k = numerator_k / denominator_k`` where the denominator is positive, else ``w_k``.

    ``numerator`` (K, d) and ``denominator`` (K,) are the neighbourhood-smoothed sums and counts.

    Args:
        w: (K, d) current unit weights, kept where ``denominator_k <= 1e-12``.
        numerator: (K, d) smoothed sums ``sum_u h_ku S_u``.
        denominator: (K,) smoothed counts ``sum_u h_ku N_u``.

    Returns:
        The new weights (K, d); ``w`` is not modified.
    """
    ok = denominator > 1e-12
    safe = denominator + (~ok) * 1.0
    return ok[:, None] * (numerator / safe[:, None]) + (~ok)[:, None] * w


def minibatch_update(w, xb, h, lr: float):
    """Sum of the online updates of a batch, all taken at the same weights, step capped at 1.

    ``w`` (K, d), ``xb`` (B, d), ``h`` (K, B) neighbourhood of each unit to each sample's BMU:
    ``w_k += lr / max(1, lr * H_k) * sum_i h_ki (x_i - w_k)`` with ``H_k = sum_i h_ki``. With one
    sample per batch this is exactly the online rule.

    Args:
        w: (K, d) current unit weights.
        xb: (B, d) the batch's samples.
        h: (K, B) neighbourhood weight of each unit to each sample's best unit.
        lr: the learning rate, > 0.

    Returns:
        The new weights (K, d); ``w`` is not modified.
    """
    return minibatch_rule(w, h @ xb, h.sum(1), lr)


def minibatch_rule(w, pulled, mass, lr: float):
    """``w_k += lr / max(1, lr * mass_k) * (pulled_k - mass_k w_k)``.

    ``pulled`` (K, d) is ``sum_i h_ki x_i`` and ``mass`` (K,) is ``sum_i h_ki`` over a batch.

    Args:
        w: (K, d) current unit weights.
        pulled: (K, d) ``sum_i h_ki x_i`` over the batch.
        mass: (K,) ``sum_i h_ki`` over the batch.
        lr: the learning rate, > 0.

    Returns:
        The new weights (K, d); ``w`` is not modified.
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
        """Radius of each batch epoch: the schedule sampled from start to end over the epochs,
        the last epoch at the end radius (one epoch alone too: at the start radius it left a
        map smoother than its PCA start, and ``sigma_end`` was never reached)."""
        if self.epochs == 1:
            return [self.sigma_at(1.0)]
        return [self.sigma_at(epoch / (self.epochs - 1)) for epoch in range(self.epochs)]

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


# the online rule runs this many samples between two checks for Ctrl-C (one "step" of
# DLCOURSE_INTERRUPT_AFTER): about 0.1 s on 64 features, 1 s on 784
ONLINE_CHUNK = 2048


@dataclass
class TrainState:
    """Where a training run stands, as plain values: a checkpoint holds exactly this.

    ``weights`` (K, d) float64 are the backend's working weights, minus the data's centre when
    ``centred`` (the CPU batch loop works so). ``epoch`` epochs are finished; ``step`` samples
    of the online/mini-batch order are visited (the order is drawn again from
    ``order_state``, the generator's state after the start weights); ``sums`` are the running
    error sums of a mini-batch epoch stopped midway; ``history`` has one dict per finished
    epoch (and epoch 0, the start map). ``seconds``/``cpu_seconds``: time spent before this
    process, so a resumed run's history continues the clock.
    """

    weights: np.ndarray
    centred: bool = False
    epoch: int = 0
    step: int = 0
    history: list[dict] = field(default_factory=list)
    sums: tuple[float, float] = (0.0, 0.0)
    order_state: dict[str, Any] | None = None
    finished: bool = False
    stopped: bool = False
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    def order(self, settings: TrainSettings, n_samples: int) -> np.ndarray:
        """The sample index of every online/mini-batch step, the same in a resumed run."""
        rng = np.random.default_rng(0)
        if self.order_state is not None:
            rng.bit_generator.state = self.order_state
        return settings.order_of_steps(n_samples, settings.total_steps(n_samples), rng)

    def to_values(self) -> dict[str, Any]:
        """Everything but the weights, as JSON values."""
        return {"centred": self.centred, "epoch": self.epoch, "step": self.step,
                "history": self.history, "sums": list(self.sums),
                "order_state": self.order_state, "finished": self.finished,
                "seconds": self.seconds, "cpu_seconds": self.cpu_seconds}

    @classmethod
    def from_values(cls, weights: np.ndarray, values: dict[str, Any]) -> TrainState:
        """Rebuild from :meth:`to_values` and the saved weights."""
        return cls(weights=np.ascontiguousarray(weights, dtype=np.float64),
                   centred=bool(values["centred"]), epoch=int(values["epoch"]),
                   step=int(values["step"]), history=list(values["history"]),
                   sums=(float(values["sums"][0]), float(values["sums"][1])),
                   order_state=values.get("order_state"), finished=bool(values["finished"]),
                   seconds=float(values.get("seconds", 0.0)),
                   cpu_seconds=float(values.get("cpu_seconds", 0.0)))


class Control:
    """What a backend's training loop reports to and asks: record an epoch, count a step,
    whether to stop, an epoch is done.

    This base records the history and never stops or saves;
    :class:`dlcourse.som.training.RunControl` adds Ctrl-C and checkpoints.
    """

    def __init__(self) -> None:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    def record(self, state: TrainState, epoch: int, qe: float, te: float, sigma: float,
               lr: float | None) -> None:
        """Append epoch ``epoch``'s errors and schedule values to ``state.history``."""
        state.history.append({
            "epoch": epoch, "quantization_error": float(qe), "topographic_error": float(te),
            "sigma": float(sigma), "learning_rate": lr,
            "seconds": state.seconds + time.perf_counter() - self.wall0,
            "cpu_seconds": state.cpu_seconds + time.process_time() - self.cpu0})
        logger.debug("som epoch %d: qe %.4f te %.4f", epoch, qe, te)

    def step(self) -> None:
        """One training step finished (a batch epoch, an online chunk, a mini-batch)."""

    def should_stop(self) -> bool:
        """True when the loop should stop at this safe point (Ctrl-C)."""
        return False

    def steps_allowed(self) -> int | None:
        """How many steps may run before the next :meth:`should_stop` check must come (a
        simulated interrupt due); None: any number."""
        return None

    def epoch_done(self, state: TrainState, sync: Callable[[], np.ndarray] | None = None) -> None:
        """``state`` finished an epoch; ``sync()`` gives the current weights when
        ``state.weights`` is not kept up to date (the device path)."""


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
