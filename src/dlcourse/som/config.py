"""The settings of a self-organizing map: one dataclass, every default once (no torch, no numpy).

:class:`~dlcourse.som.estimator.SOM` validates these fields when ``fit`` starts and
``dlcourse som train`` generates its options from them, so the Python API and the command line
refuse the same values with the same message.

Example:
    >>> SOMConfig(m=20, n=12).validate().sigma_start()
    10.0
    >>> SOMConfig(neighborhood="mexican_hat").validate()
    Traceback (most recent call last):
    ...
    dlcourse.errors.ConfigError: neighborhood mexican_hat has negative weights, which the batch \
rule cannot average; use the online or minibatch algorithm
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dlcourse.engine.config import MAX_EPOCHS, SEED_MAX, Config, param
from dlcourse.errors import ConfigError

# the registries' names (dlcourse.som.functions holds the functions under the same names; a
# test keeps the two in step). Here so that this module imports neither numpy nor torch.
TOPOLOGIES = ("rectangular", "hexagonal")
INITS = ("pca", "random", "sample")
NEIGHBORHOODS = ("gaussian", "bubble", "mexican_hat", "triangle")
DECAYS = ("exponential", "linear", "inverse_time")
DISTANCES = ("euclidean", "cosine", "manhattan")
ALGORITHMS = ("batch", "online", "minibatch")
BACKENDS = ("auto", "numpy", "torch")
# settings that change where or in what blocks a run computes, never the map it trains: a
# resumed run may change them
RESUME_FREE = ("device", "chunk_size", "progress")
# the largest map (1000 x 1000): beyond it the unit tables alone (weights, neighbours, the
# search's distance blocks) take gigabytes before any training, and no map that size has a use
MAX_UNITS = 1_000_000
# the most online or mini-batch steps (the run keeps its sample order in memory, 8 bytes a
# step: 800 MB here), as the engine's MAX_EPOCHS: past them a typo ran out of memory
MAX_STEPS = 100_000_000
# the smallest learning rate: the compiled kernels flush tinier (subnormal) numbers to 0 and
# then divide by them; far above that, a rate of 1e-12 moves no unit anyway
MIN_RATE = 1e-12


@dataclass
class SOMConfig(Config):
    """Every hyper-parameter of a self-organizing map (plain values: saved with the model).

    The defaults (a radius from ``max(m, n) / 2`` down to 0.5 with an inverse-time decay, PCA
    start, batch rule) were chosen against MiniSom's usual settings
    (``benchmarks/bench_som.py --defaults``): a wide start orders the map, a narrow end
    quantises like MiniSom's sigma-1 maps; ``sigma_end=1`` gives smoother maps (lower
    topographic, higher quantization error).
    """

    aliases: ClassVar[dict[str, str]] = {"lr": "learning_rate", "lr_end": "learning_rate_end",
                                           # MiniSom's names
                                           "neighborhood_function": "neighborhood",
                                           "activation_distance": "distance",
                                           "random_seed": "seed"}
    elsewhere: ClassVar[dict[str, str]] = {
        "input_len": "MiniSom's input_len is not needed: the map takes its features from the "
                     "data given to fit",
        "positional 3": "MiniSom's third, input_len, is not needed: the map takes its features "
                        "from the data given to fit",
        "decay_function": "write decay='inverse_time' (MiniSom's decays), 'exponential' or "
                          "'linear'; it shapes both the radius and the learning rate",
        "sigma_decay_function": "write decay=... (one schedule for the radius and the learning "
                                "rate) and sigma_end=... (the last radius)",
        "x": "write SOM(rows, cols): the grid's size comes first, positionally or as m and n",
        "y": "write SOM(rows, cols): the grid's size comes first, positionally or as m and n",
    }
    resume_free: ClassVar[tuple[str, ...]] = RESUME_FREE


    m: int = param(10, "Grid rows.", min=1)
    n: int = param(10, "Grid columns.", min=1)
    topology: str = param("rectangular", "Unit layout: rectangular (8 neighbours) or hexagonal "
                          "(6 at equal distance).", choices=TOPOLOGIES)
    toroidal: bool = param(False, "Wrap both grid axes (a hexagonal torus needs an even number "
                           "of rows).")
    init: str = param("pca", "Start weights: pca (a plane along the two main components), "
                      "random (uniform in the data's box) or sample (random samples).",
                      choices=INITS)
    neighborhood: str = param("gaussian", "Neighbourhood function (mexican_hat: online or "
                              "minibatch only, with sigma_end >= 1).", choices=NEIGHBORHOODS)
    decay: str = param("inverse_time", "Schedule of the radius and learning rate from their "
                       "start to their end value (inverse_time: the shape of MiniSom's "
                       "decays).", choices=DECAYS)
    distance: str = param("euclidean", "Distance of the best-unit search and the errors.",
                          choices=DISTANCES)
    # above 2 a step moves the best unit past the sample by more than it started from (the
    # error is multiplied by 1 - rate): the map diverges to inf
    learning_rate: float = param(0.5, "Start learning rate (online and minibatch; the batch "
                                 "rule has none).", min=0.0, exclusive_min=True, max=2.0)
    learning_rate_end: float = param(0.01, "Final learning rate (online and minibatch).",
                                     min=0.0, exclusive_min=True, max=2.0)
    # radii below 0.01 grid units weigh a neighbour at exp(-5000) or less: the map is already
    # k-means there, and far smaller ones divide by zero
    sigma: float | None = param(None, "Start radius in grid units; none: max(rows, cols) / 2, "
                                "at least 1.", min=0.01)
    sigma_end: float = param(0.5, "Final radius in grid units (1 gives smoother maps).",
                             min=0.01)
    algorithm: str = param("batch", "batch: every sample once per epoch, all units moved "
                           "together (fast, deterministic); online: the lesson's per-sample "
                           "rule; minibatch: that rule summed over batches.", choices=ALGORITHMS)
    epochs: int = param(10, "Passes over the data.", min=1, max=MAX_EPOCHS)
    iterations: int | None = param(None, "Samples to visit instead of epochs x samples (online "
                                   "and minibatch).", min=1, max=MAX_STEPS)
    batch_size: int = param(256, "Samples per update of the minibatch algorithm.", min=1)
    shuffle: bool = param(True, "Visit the samples in a seeded random order (online and "
                          "minibatch); off: in order, cyclically.")
    chunk_size: int | None = param(None, "Rows per block of the best-unit search; none: 8 MB "
                                   "of distances (bounds the memory).", min=1)
    seed: int = param(0, "Seed of the start weights and the sample order.", min=0,
                      max=SEED_MAX)
    device: str = param("auto", "auto (a GPU when present, else the CPU, which needs no "
                        "torch), cpu, cuda, cuda:N or mps.")
    backend: str = param("auto", "auto: numpy and numba on the CPU, torch elsewhere; numpy; "
                         "torch (any device).", choices=BACKENDS)
    progress: bool = param(False, "Show a progress bar over the epochs, with the errors.",
                           cli=False)

    def idle_settings(self) -> tuple[str, ...]:
        """The batch rule reads no learning rate, batch size or sample order."""
        if self.algorithm != "batch":
            return ()
        return ("learning_rate", "learning_rate_end", "batch_size", "shuffle")

    def check(self) -> None:
        """Rules that involve several fields: the grid, the mexican hat."""
        for name in ("learning_rate", "learning_rate_end"):
            if getattr(self, name) < MIN_RATE:
                raise ConfigError(f"{name} must be >= {MIN_RATE:g} (a smaller rate moves no "
                                  f"unit), got {getattr(self, name):g}", name)
        if self.m * self.n < 2:
            raise ConfigError(f"a {self.m}x{self.n} grid has no neighbours; use at least 1x2 "
                              "units")
        if self.toroidal and self.topology == "hexagonal" and self.m % 2:
            raise ConfigError("toroidal needs an even number of rows on a hexagonal grid, got "
                              f"{self.m} rows", "toroidal")
        if self.neighborhood == "mexican_hat":
            if self.algorithm == "batch":
                raise ConfigError("neighborhood mexican_hat has negative weights, which the "
                                  "batch rule cannot average; use the online or minibatch "
                                  "algorithm", "neighborhood")
            if self.sigma_end < 1.0:
                raise ConfigError(f"sigma_end must be >= 1 with the mexican_hat neighborhood "
                                  f"(its negative ring pushes neighbours apart), got "
                                  f"{self.sigma_end}", "sigma_end")
        if self.sigma_end > self.sigma_start():
            raise ConfigError(f"sigma_end {self.sigma_end:g} is above the start radius "
                              f"{self.sigma_start():g}: the radius shrinks over training",
                              "sigma_end")
        if self.algorithm != "batch" and self.learning_rate_end > self.learning_rate:
            raise ConfigError(f"learning_rate_end {self.learning_rate_end:g} is above "
                              f"the start rate {self.learning_rate:g}: the rate decays over "
                              "training", "learning_rate_end")
        if self.m * self.n > MAX_UNITS:
            raise ConfigError(f"a {self.m}x{self.n} map has {self.m * self.n:,} units; at most "
                              f"{MAX_UNITS:,} are supported (maps usually have far fewer units "
                              "than samples: about 5 sqrt(N) is a common start)", "m")
        if self.iterations is not None and self.algorithm == "batch":
            raise ConfigError("iterations applies to the online and minibatch algorithms; the "
                              "batch algorithm trains for epochs", "iterations")
        if self.backend == "numpy" and self.device.strip().lower() not in ("auto", "cpu"):
            raise ConfigError(f"backend numpy runs on the CPU only; use backend torch for "
                              f"device {self.device}", "backend")

    def check_steps(self, n_samples: int) -> None:
        """Refuse an online or mini-batch run of ``epochs`` over ``n_samples`` samples that
        visits more than :data:`MAX_STEPS` of them (checked when the data's size is known).

        Args:
            n_samples: the number of training samples (rows of ``X``).

        Raises:
            ConfigError: naming epochs, the steps and the fix.
        """
        steps = self.epochs * n_samples
        if self.algorithm != "batch" and self.iterations is None and steps > MAX_STEPS:
            raise ConfigError(f"epochs {self.epochs:,} over {n_samples:,} samples are "
                              f"{steps:,} steps of the {self.algorithm} rule; at most "
                              f"{MAX_STEPS:,} are supported (the run keeps their order in "
                              "memory): use fewer epochs or a number of iterations", "epochs")

    def sigma_start(self) -> float:
        """The start radius: ``sigma``, or ``max(m, n) / 2`` (at least 1) when it is None."""
        return float(self.sigma) if self.sigma is not None else max(1.0, max(self.m, self.n) / 2)
