"""The ``SOM`` estimator: fit a self-organizing map, measure it, query it, save and load it.

Two paths share one estimator. On the CPU (``backend="numpy"``) distances come from BLAS in
float32 blocks, numpy's SIMD argmin finds the best unit and one numba kernel per block adds the
errors and the per-unit sums of the batch rule; the online rule is an exact numba loop.
Elsewhere (``backend="torch"``, chosen automatically for CUDA/MPS) the same algorithms run as
torch tensor code on the device. Both backends take plain values (``SearchSpec``,
``TrainSettings``, the ``Grid``), never the estimator.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.som.backend_numpy import NumpyRunner
from dlcourse.som.functions import (
    ALGORITHMS,
    DISTANCES,
    INITS,
    check_choice,
    decay_function,
    neighborhood_function,
)
from dlcourse.som.grid import Grid
from dlcourse.som.init import initial_weights
from dlcourse.som.rules import SearchSpec, TrainSettings

BACKENDS = ("auto", "numpy", "torch")
# BMU scans keep chunk x units distances; this many float32 values (8 MB) bounds that memory.
CHUNK_VALUES = 1 << 21


def as_matrix(X: Any, name: str = "X") -> np.ndarray:
    """Return ``X`` as a 2-D float array (no copy when it already is one), else a ValueError."""
    if type(X).__module__.startswith("torch"):
        X = X.detach().cpu().numpy()
    X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got dtype {X.dtype}; convert it to floats")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples, features), got shape {X.shape}; "
                         "reshape it, e.g. X.reshape(len(X), -1)")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); pass at least one sample and feature")
    if X.dtype not in (np.float32, np.float64):  # ints, bools, float16: kernels take these two
        X = X.astype(np.float64)
    return X


class SOM:
    """A self-organizing map of ``m x n`` units over ``d``-dimensional data.

    Parameters:
        m, n: grid rows and columns.
        topology: ``"rectangular"`` or ``"hexagonal"``; ``toroidal`` wraps both grid axes.
        init: ``"pca"`` (a plane along the two main components), ``"random"`` (uniform in the
            data's box) or ``"sample"`` (random samples).
        neighborhood: ``"gaussian"``, ``"bubble"``, ``"mexican_hat"`` (online/minibatch only;
            its negative ring pushes neighbours apart, so keep ``sigma_end >= 1``) or
            ``"triangle"``.
        decay: schedule of the learning rate and radius: ``"inverse_time"`` (the shape of
            MiniSom's decays), ``"exponential"`` or ``"linear"``, from ``learning_rate``/
            ``sigma`` to ``learning_rate_end``/``sigma_end`` over training.
        distance: ``"euclidean"``, ``"cosine"`` or ``"manhattan"`` (BMU search and errors).
        sigma: start radius in grid units (default ``max(m, n) / 2``, at least 1);
            ``sigma_end`` the final one (default 0.5). The defaults were chosen against
            MiniSom's usual settings (benchmarks/bench_som.py --defaults): a wide start orders
            the map, a narrow end quantises like MiniSom's sigma-1 maps; ``sigma_end=1``
            gives smoother maps (lower topographic, higher quantization error).
        algorithm: ``"batch"`` (all samples per epoch; learning rate unused), ``"online"``
            (the lesson's per-sample rule, exact with a seed) or ``"minibatch"``.
        epochs: passes over the data; ``iterations`` (online/minibatch only) overrides them
            with a number of samples.
        batch_size: samples per update of ``"minibatch"``.
        shuffle: visit samples in a seeded random order (online/minibatch); else cyclically.
        chunk_size: rows per BMU-search chunk (default: 8 MB of distances), bounding memory.
        seed: seeds the initialisation and the sample order.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...; ``backend``: ``"auto"`` (numpy on CPU,
            torch elsewhere), ``"numpy"`` or ``"torch"``.

    Learned attributes: ``weights_`` (m, n, d), ``quantization_error_``, ``topographic_error_``,
    ``history_`` (one dict per epoch, epoch 0 is the initial map; for ``"minibatch"`` on the
    CPU path the inner epochs hold running means over each epoch's batches, taken before each
    update, like a training loss, and the last entry the exact final errors),
    ``n_features_in_``.

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> som = SOM(6, 6, epochs=5, device="cpu").fit(X)
    >>> som.weights_.shape, som.predict(X[:2]).shape
    ((6, 6, 3), (2, 2))
    """

    def __init__(
        self,
        m: int = 10,
        n: int = 10,
        *,
        topology: str = "rectangular",
        toroidal: bool = False,
        init: str = "pca",
        neighborhood: str = "gaussian",
        decay: str = "inverse_time",
        distance: str = "euclidean",
        learning_rate: float = 0.5,
        learning_rate_end: float = 0.01,
        sigma: float | None = None,
        sigma_end: float = 0.5,
        algorithm: str = "batch",
        epochs: int = 10,
        iterations: int | None = None,
        batch_size: int = 256,
        shuffle: bool = True,
        chunk_size: int | None = None,
        seed: int = 0,
        device: str = "auto",
        backend: str = "auto",
    ) -> None:
        self.m = m
        self.n = n
        self.topology = topology
        self.toroidal = toroidal
        self.init = init
        self.neighborhood = neighborhood
        self.decay = decay
        self.distance = distance
        self.learning_rate = learning_rate
        self.learning_rate_end = learning_rate_end
        self.sigma = sigma
        self.sigma_end = sigma_end
        self.algorithm = algorithm
        self.epochs = epochs
        self.iterations = iterations
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.chunk_size = chunk_size
        self.seed = seed
        self.device = device
        self.backend = backend

    # ------------------------------------------------------------------ configuration
    def get_params(self) -> dict[str, Any]:
        """The constructor arguments as a plain dict (saved in checkpoints)."""
        return {key: getattr(self, key) for key in _PARAMS}

    def _check_params(self) -> None:
        Grid(int(self.m), int(self.n), self.topology, bool(self.toroidal))
        check_choice("init", self.init, INITS)
        neighborhood_function(self.neighborhood)
        decay_function(self.decay)
        check_choice("distance", self.distance, DISTANCES)
        check_choice("algorithm", self.algorithm, ALGORITHMS)
        check_choice("backend", self.backend, BACKENDS)
        if self.algorithm == "batch" and self.neighborhood == "mexican_hat":
            raise ValueError("neighborhood 'mexican_hat' has negative weights, which the batch "
                             "rule cannot average; use algorithm='online' or 'minibatch'")
        if int(self.epochs) < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.iterations is not None and int(self.iterations) < 1:
            raise ValueError(f"iterations must be >= 1 or None, got {self.iterations}")
        if int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        for name in ("learning_rate", "learning_rate_end", "sigma_end"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.sigma is not None and not float(self.sigma) > 0:
            raise ValueError(f"sigma must be > 0 or None, got {self.sigma}")

    @property
    def grid(self) -> Grid:
        """The map's :class:`Grid`."""
        return Grid(int(self.m), int(self.n), self.topology, bool(self.toroidal))

    def _sigma_start(self) -> float:
        return float(self.sigma) if self.sigma is not None else max(1.0, max(self.m, self.n) / 2)

    def _chunk(self) -> int:
        if self.chunk_size is not None:
            return max(1, int(self.chunk_size))
        return max(64, CHUNK_VALUES // (int(self.m) * int(self.n)))

    def _resolve_backend(self) -> tuple[str, str]:
        if str(self.device).lower() == "cpu" and self.backend != "torch":
            return "numpy", "cpu"  # the CPU path never needs torch (a 4 s import)
        from dlcourse.engine import resolve_device

        device = resolve_device(self.device)
        backend = self.backend
        if backend == "auto":
            backend = "numpy" if device.type == "cpu" else "torch"
        if backend == "numpy" and device.type != "cpu":
            raise ValueError(
                f"backend 'numpy' runs on the CPU only; use backend='torch' for {device}")
        return backend, str(device)

    # ------------------------------------------------------------------ training
    def fit(self, X: Any, y: Any = None) -> SOM:
        """Initialise and train the map on ``X`` (N, d); returns ``self``. ``y`` is ignored.

        Under torchrun (``dlcourse.engine.distributed.init_distributed`` called first) every
        rank passes the same ``X``; with ``algorithm="batch"`` each rank scans only its share
        of the rows and an all-reduce sums the per-unit statistics, so every rank ends with the
        map one process trains (up to float rounding). Online and mini-batch runs are
        sequential: there every rank trains on all of ``X`` by itself.

        Raises ValueError for bad hyper-parameters or data (non-finite values, wrong shape).
        """
        self._check_params()
        X = as_matrix(X)
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or infinite values; drop or impute them first")
        self.backend_, self.device_ = self._resolve_backend()
        grid = self.grid
        self.n_features_in_ = X.shape[1]
        # Euclidean distances do not change under a shift: centring keeps float32 BMU search
        # accurate for data far from the origin. Cosine distances do change, so no shift there.
        self._center = (X.mean(axis=0, dtype=np.float64) if self.distance != "cosine"
                        else np.zeros(X.shape[1]))
        rng = np.random.default_rng(self.seed)
        weights = initial_weights(X, grid, self.init, rng)  # (K, d) float64
        self._setup_grid()
        weights, self.history_ = self._runner().train(X, weights, grid, self._settings(), rng)
        self.weights_ = weights.reshape(self.m, self.n, -1)
        self.quantization_error_ = self.history_[-1]["quantization_error"]
        self.topographic_error_ = self.history_[-1]["topographic_error"]
        return self

    @classmethod
    def from_weights(cls, weights: Any, **params: Any) -> SOM:
        """A fitted map with the given (m, n, d) weights, e.g. to measure another library's map.

        ``params`` are constructor arguments (topology, distance, device ...); ``history_`` is
        empty and the errors are measured on demand with :meth:`quantization_error` etc.
        """
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 3:
            raise ValueError(f"weights must be (m, n, d), got shape {weights.shape}")
        som = cls(weights.shape[0], weights.shape[1], **params)
        som._check_params()
        som.backend_, som.device_ = som._resolve_backend()
        som.weights_ = weights
        som.n_features_in_ = weights.shape[2]
        som._center = (weights.reshape(-1, weights.shape[2]).mean(0) if som.distance != "cosine"
                       else np.zeros(weights.shape[2]))
        som.history_ = []
        som._setup_grid()
        return som

    def _setup_grid(self) -> None:
        self._neighbors = self.grid.neighbors()  # (K, 8)

    def _settings(self) -> TrainSettings:
        """The training hyper-parameters as the plain values the backends take."""
        return TrainSettings(
            algorithm=self.algorithm, epochs=int(self.epochs),
            iterations=None if self.iterations is None else int(self.iterations),
            batch_size=int(self.batch_size), shuffle=bool(self.shuffle),
            neighborhood=self.neighborhood, decay=self.decay,
            learning_rate=float(self.learning_rate),
            learning_rate_end=float(self.learning_rate_end), sigma=self._sigma_start(),
            sigma_end=float(self.sigma_end))

    # ------------------------------------------------------------------ queries
    def _check_fitted(self, X: Any) -> np.ndarray:
        if not hasattr(self, "weights_"):
            raise ValueError("this SOM is not fitted yet; call fit(X) or SOM.load(path) first")
        X = as_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features but the map was trained on "
                             f"{self.n_features_in_}; pass data with the same columns")
        return X

    def _runner(self):
        spec = SearchSpec(self._neighbors, self.distance, self._center, self._chunk())
        if self.backend_ == "numpy":
            return NumpyRunner(spec)
        from dlcourse.som.backend_torch import TorchRunner  # imports torch

        return TorchRunner(spec, self.device_)

    def _scan(self, X: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """BMU (N,), exact distance to it (N,) and topographic-error flags (N,) of ``X``."""
        X = self._check_fitted(X)
        return self._runner().scan(X, self.weights_.reshape(-1, self.n_features_in_))

    def bmu_indices(self, X: Any, return_distances: bool = False):
        """Flat index ``r * n + c`` of every sample's best matching unit, shape (N,).

        With ``return_distances`` also each sample's distance to that unit, shape (N,).
        """
        bmu, dist, _ = self._scan(X)
        return (bmu, dist) if return_distances else bmu

    def predict(self, X: Any) -> np.ndarray:
        """Grid coordinates ``(row, col)`` of every sample's best matching unit, shape (N, 2)."""
        return np.stack(np.divmod(self.bmu_indices(X), self.n), axis=1)

    def transform(self, X: Any) -> np.ndarray:
        """Distances from every sample to every unit, shape (N, m * n)."""
        X = self._check_fitted(X)
        return self._runner().transform(X, self.weights_.reshape(-1, self.n_features_in_))

    def quantization_error(self, X: Any) -> float:
        """Mean distance from each sample to its best matching unit."""
        return float(self._scan(X)[1].mean())

    def topographic_error(self, X: Any) -> float:
        """Share of samples whose two best units are not adjacent on the grid (hex-aware)."""
        return float(self._scan(X)[2].mean())

    def distance_map(self, scaling: str = "mean") -> np.ndarray:
        """U-matrix: mean (or sum) distance of each unit's weights to its grid neighbours, (m, n).

        Always Euclidean in weight space; neighbours as in :meth:`Grid.neighbors`.
        """
        check_choice("scaling", scaling, ("mean", "sum"))
        if not hasattr(self, "weights_"):
            raise ValueError("this SOM is not fitted yet; call fit(X) or SOM.load(path) first")
        w = self.weights_.reshape(-1, self.n_features_in_)  # (K, d)
        table = self.grid.neighbors()  # (K, 8)
        valid = table >= 0
        gaps = np.linalg.norm(w[:, None, :] - w[np.maximum(table, 0)], axis=-1)  # (K, 8)
        total = (gaps * valid).sum(axis=1)
        if scaling == "mean":
            total = total / np.maximum(valid.sum(axis=1), 1)
        return total.reshape(self.m, self.n)

    def activation_response(self, X: Any) -> np.ndarray:
        """Hit map: how many samples each unit wins, shape (m, n)."""
        hits = np.bincount(self.bmu_indices(X), minlength=self.m * self.n)
        return hits.reshape(self.m, self.n)

    def win_map(self, X: Any, return_indices: bool = False) -> dict[tuple[int, int], list]:
        """``{(row, col): [samples (or their indices) won by that unit]}`` for units that win."""
        X = as_matrix(X)
        result: dict[tuple[int, int], list] = {}
        for i, (r, c) in enumerate(self.predict(X).tolist()):
            result.setdefault((r, c), []).append(i if return_indices else X[i])
        return result

    def labels_map(self, X: Any, labels: Any) -> dict[tuple[int, int], Counter]:
        """``{(row, col): Counter(labels of the samples that unit wins)}``."""
        labels = list(labels)
        if len(labels) != len(X):
            raise ValueError(f"got {len(labels)} labels for {len(X)} samples; pass one per sample")
        result: dict[tuple[int, int], Counter] = {}
        for (r, c), label in zip(self.predict(X).tolist(), labels, strict=True):
            result.setdefault((r, c), Counter())[label] += 1
        return result

    def majority_labels(self, X: Any, labels: Any) -> np.ndarray:
        """Most frequent label per unit, an (m, n) object array (None where a unit wins nothing)."""
        grid = np.full((self.m, self.n), None, dtype=object)
        for (r, c), counts in self.labels_map(X, labels).items():
            grid[r, c] = counts.most_common(1)[0][0]
        return grid

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, **extra: Any) -> Path:
        """Write the map to ``path`` (a ``.pt`` file, or a directory that gets ``model.pt``).

        ``extra`` holds plain values stored beside it (scaler, feature names, classes); they come
        back as ``metadata_`` after :meth:`load`. Written atomically with the engine.
        """
        import torch

        from dlcourse.engine import save_checkpoint

        if not hasattr(self, "weights_"):
            raise ValueError("this SOM is not fitted yet; call fit(X) before save()")
        path = Path(path)
        if path.suffix != ".pt":
            path = path / "model.pt"
        state = {
            "lesson": "som",
            "config": self.get_params(),
            "model": {
                "weights": torch.from_numpy(np.ascontiguousarray(self.weights_)),
                "center": torch.from_numpy(np.ascontiguousarray(self._center)),
            },
            "vocab": None,
            "classes": extra.pop("classes", None),
            "epoch": len(self.history_) - 1,
            "history": self.history_,
            "quantization_error": float(self.quantization_error_),
            "topographic_error": float(self.topographic_error_),
            "extra": extra,
        }
        return save_checkpoint(path, state)

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> SOM:
        """Load a map saved by :meth:`save` (``torch.load(weights_only=True)`` underneath).

        ``device`` overrides the saved device (e.g. ``"cpu"`` for a map trained on a GPU).
        Raises DlcourseError when the file is missing or not an SOM checkpoint.
        """
        from dlcourse.engine import load_checkpoint
        from dlcourse.errors import DlcourseError

        state = load_checkpoint(path)
        if state.get("lesson") != "som":
            raise DlcourseError(f"{path} holds a {state.get('lesson')!r} model, not an SOM; "
                                "pass the directory written by 'dlcourse som train'")
        config = {k: v for k, v in state["config"].items() if k in _PARAMS}
        som = cls(**config)
        if device is not None:
            som.device = device
        som.backend_, som.device_ = som._resolve_backend()
        som.weights_ = state["model"]["weights"].numpy().astype(np.float64)
        som._center = state["model"]["center"].numpy().astype(np.float64)
        som.n_features_in_ = som.weights_.shape[-1]
        som._setup_grid()
        som.history_ = state["history"]
        som.quantization_error_ = state["quantization_error"]
        som.topographic_error_ = state["topographic_error"]
        som.metadata_ = dict(state.get("extra") or {})
        if state.get("classes") is not None:
            som.metadata_["classes"] = state["classes"]
        return som

    def __repr__(self) -> str:
        return (f"SOM({self.m}x{self.n}, topology={self.topology!r}, "
                f"algorithm={self.algorithm!r}, distance={self.distance!r})")


_PARAMS = (
    "m", "n", "topology", "toroidal", "init", "neighborhood", "decay", "distance",
    "learning_rate", "learning_rate_end", "sigma", "sigma_end", "algorithm", "epochs",
    "iterations", "batch_size", "shuffle", "chunk_size", "seed", "device", "backend",
)
