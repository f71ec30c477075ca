"""The ``SOM`` estimator: fit a self-organizing map, measure it, query it, save and load it.

Two paths share one estimator. On the CPU (``backend="numpy"``) distances come from BLAS in
float32 chunks and a numba scan finds the two best units and accumulates the per-unit sums of the
batch rule; the online rule is an exact numba loop. Elsewhere (``backend="torch"``, chosen
automatically for CUDA/MPS) the same algorithms run as torch tensor code on the device.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.som import _kernels
from dlcourse.som.functions import (
    ALGORITHMS,
    DISTANCES,
    INITS,
    check_choice,
    decay_function,
    neighborhood_function,
)
from dlcourse.som.grid import Grid

logger = logging.getLogger(__name__)

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
    if X.dtype.kind != "f":
        X = X.astype(np.float64)
    return X


class SOM:
    """A self-organizing map of ``m x n`` units over ``d``-dimensional data.

    Parameters:
        m, n: grid rows and columns.
        topology: ``"rectangular"`` or ``"hexagonal"``; ``toroidal`` wraps both grid axes.
        init: ``"pca"`` (a plane along the two main components), ``"random"`` (uniform in the
            data's box) or ``"sample"`` (random samples).
        neighborhood: ``"gaussian"``, ``"bubble"``, ``"mexican_hat"`` or ``"triangle"``.
        decay: schedule of the learning rate and radius: ``"exponential"``, ``"linear"`` or
            ``"inverse_time"``, from ``learning_rate``/``sigma`` to ``learning_rate_end``/
            ``sigma_end`` over training.
        distance: ``"euclidean"``, ``"cosine"`` or ``"manhattan"`` (BMU search and errors).
        sigma: start radius in grid units (default ``max(m, n) / 4``, at least 1);
            ``sigma_end`` the final one (default 1).
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
    ``history_`` (one dict per epoch, epoch 0 is the initial map), ``n_features_in_``.

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
        decay: str = "exponential",
        distance: str = "euclidean",
        learning_rate: float = 0.5,
        learning_rate_end: float = 0.01,
        sigma: float | None = None,
        sigma_end: float = 1.0,
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
        return float(self.sigma) if self.sigma is not None else max(1.0, max(self.m, self.n) / 4)

    def _chunk(self) -> int:
        if self.chunk_size is not None:
            return max(1, int(self.chunk_size))
        return max(64, CHUNK_VALUES // (int(self.m) * int(self.n)))

    def _resolve_backend(self) -> tuple[str, str]:
        from dlcourse.engine import resolve_device

        device = resolve_device(self.device)
        backend = self.backend
        if backend == "auto":
            backend = "numpy" if device.type == "cpu" else "torch"
        if backend == "numpy" and device.type != "cpu":
            raise ValueError(f"backend 'numpy' runs on the CPU only; use backend='torch' for {device}")
        return backend, str(device)

    # ------------------------------------------------------------------ training
    def fit(self, X: Any, y: Any = None) -> SOM:
        """Initialise and train the map on ``X`` (N, d); returns ``self``. ``y`` is ignored.

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
        self._center = X.mean(axis=0) if self.distance != "cosine" else np.zeros(X.shape[1])
        rng = np.random.default_rng(self.seed)
        weights = initial_weights(X, grid, self.init, rng)  # (K, d) float64
        self._grid_d2 = grid.squared_distances()  # (K, K)
        self._neighbors = grid.neighbors()  # (K, 8)
        runner = _NumpyRunner(self) if self.backend_ == "numpy" else _TorchRunner(self)
        weights, self.history_ = runner.train(X, weights, rng)
        self.weights_ = weights.reshape(self.m, self.n, -1)
        self.quantization_error_ = self.history_[-1]["quantization_error"]
        self.topographic_error_ = self.history_[-1]["topographic_error"]
        return self

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
        return _NumpyRunner(self) if self.backend_ == "numpy" else _TorchRunner(self)

    def _scan(self, X: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """BMU (N,), exact distance to it (N,) and topographic-error flags (N,) of ``X``."""
        X = self._check_fitted(X)
        return self._runner().scan(X, self.weights_.reshape(-1, self.n_features_in_))

    def bmu_indices(self, X: Any) -> np.ndarray:
        """Flat index ``r * n + c`` of every sample's best matching unit, shape (N,)."""
        return self._scan(X)[0]

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


def initial_weights(X: np.ndarray, grid: Grid, init: str, rng: np.random.Generator) -> np.ndarray:
    """Starting weights, shape ``(m * n, d)`` float64.

    ``pca`` lays the grid on the plane of the two main components through the mean, spanning
    +-2 standard deviations along each (the first component along the longer grid side);
    ``random`` draws uniformly inside the data's bounding box; ``sample`` picks samples.
    """
    check_choice("init", init, INITS)
    n_units, dim = grid.size, X.shape[1]
    if init == "sample":
        pick = rng.choice(len(X), size=n_units, replace=len(X) < n_units)
        return X[pick].astype(np.float64)
    low, high = X.min(axis=0).astype(np.float64), X.max(axis=0).astype(np.float64)
    if init == "random":
        return low + (high - low) * rng.random((n_units, dim))
    mean = X.mean(axis=0, dtype=np.float64)
    cov = np.zeros((dim, dim))
    for start in range(0, len(X), 65536):  # (d, d) in chunks: no (N, d) float64 copy
        part = X[start:start + 65536].astype(np.float64) - mean
        cov += part.T @ part
    cov /= max(len(X) - 1, 1)
    values, vectors = np.linalg.eigh(cov)  # ascending
    order = np.argsort(values)[::-1][:2]
    spans = 2.0 * np.sqrt(np.maximum(values[order], 0.0))  # (<=2,)
    pos = grid.positions()  # (K, 2) as (x, y)
    extent = pos.max(axis=0) - pos.min(axis=0)
    unit = np.where(extent > 0, (pos - pos.min(axis=0)) / np.where(extent > 0, extent, 1), 0.5)
    unit = 2.0 * unit - 1.0  # (K, 2) in [-1, 1]
    axes = [0, 1] if extent[0] >= extent[1] else [1, 0]  # first component on the longer side
    weights = np.tile(mean, (n_units, 1))
    for rank, k in enumerate(order):
        weights += unit[:, axes[rank], None] * spans[rank] * vectors[:, k][None, :]
    return weights


def _schedule(som: SOM):
    """(lr(frac), sigma(frac)) closures from the estimator's decay settings."""
    decay = decay_function(som.decay)
    sigma0 = som._sigma_start()

    def lr(frac: float) -> float:
        return decay(float(som.learning_rate), float(som.learning_rate_end), frac)

    def sigma(frac: float) -> float:
        return decay(sigma0, float(som.sigma_end), frac)

    return lr, sigma


def _steps(som: SOM, n_samples: int) -> int:
    return int(som.iterations) if som.iterations is not None else int(som.epochs) * n_samples


def _order(som: SOM, n_samples: int, total: int, rng: np.random.Generator) -> np.ndarray:
    """Sample index of each of ``total`` steps: seeded permutations per epoch, or cyclic."""
    epochs = -(-total // n_samples)
    if som.shuffle:
        order = np.concatenate([rng.permutation(n_samples) for _ in range(epochs)])
    else:
        order = np.tile(np.arange(n_samples), epochs)
    return order[:total].astype(np.int64)


class _NumpyRunner:
    """CPU path: BLAS float32 distances in chunks, numba scan and online kernels."""

    def __init__(self, som: SOM) -> None:
        self.som = som
        self.chunk = som._chunk()

    def _prepare(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shifted float32 weights (K, d) and their squared norms (K,) (or unit rows, cosine)."""
        w32 = (w - self.som._center).astype(np.float32)
        if self.som.distance == "cosine":
            w32 /= np.linalg.norm(w32, axis=1, keepdims=True) + 1e-12
        return w32, np.einsum("ij,ij->i", w32, w32)

    def _distances(self, xc: np.ndarray, w32: np.ndarray, w2: np.ndarray, out: np.ndarray):
        """Fill ``out`` (B, K) with a per-row shifted distance; return the row offsets (B,)."""
        if self.som.distance == "manhattan":
            _kernels.manhattan(xc, w32, out)
            return np.zeros(len(xc))
        np.matmul(xc, w32.T, out=out)  # (B, K)
        if self.som.distance == "cosine":
            out *= -1.0
            return np.ones(len(xc))
        out *= -2.0
        out += w2
        return np.einsum("ij,ij->i", xc, xc).astype(np.float64)

    def _chunk_input(self, X: np.ndarray, start: int, stop: int) -> np.ndarray:
        xc = (X[start:stop] - self.som._center).astype(np.float32)  # (B, d)
        if self.som.distance == "cosine":
            xc /= np.linalg.norm(xc, axis=1, keepdims=True) + 1e-12
        return xc

    def scan(self, X: np.ndarray, w: np.ndarray, sums=None, counts=None, exact=True):
        """BMUs (N,), distances (N,) and TE flags (N,); adds sums/counts when given."""
        n_samples, n_units = len(X), len(w)
        w32, w2 = self._prepare(w)
        bmu = np.empty(n_samples, np.int64)
        dist = np.empty(n_samples, np.float64)
        errors = np.empty(n_samples, np.int8)
        buffer = np.empty((min(self.chunk, n_samples), n_units), np.float32)
        accumulate = sums is not None
        if not accumulate:
            sums, counts = np.zeros((1, 1)), np.zeros(1)
        for start in range(0, n_samples, self.chunk):
            stop = min(start + self.chunk, n_samples)
            xc = self._chunk_input(X, start, stop)
            out = buffer[: stop - start]
            offset = self._distances(xc, w32, w2, out)
            # float64 sums of the raw samples; a placeholder when nothing is accumulated
            raw = np.ascontiguousarray(X[start:stop], np.float64) if accumulate else sums
            _kernels.scan(out, offset, self.som.distance == "euclidean", self.som._neighbors,
                          raw, sums, counts, accumulate, bmu[start:stop], dist[start:stop],
                          errors[start:stop])
            if exact and self.som.distance == "euclidean":
                # float32 search, float64 error: recompute the winner's distance exactly
                diff = X[start:stop] - w[bmu[start:stop]]
                dist[start:stop] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        return bmu, dist, errors

    def transform(self, X: np.ndarray, w: np.ndarray) -> np.ndarray:
        w32, w2 = self._prepare(w)
        out = np.empty((len(X), len(w)), np.float32)
        for start in range(0, len(X), self.chunk):
            stop = min(start + self.chunk, len(X))
            block = out[start:stop]
            offset = self._distances(self._chunk_input(X, start, stop), w32, w2, block)
            block += offset[:, None].astype(np.float32)
            if self.som.distance == "euclidean":
                np.sqrt(np.maximum(block, 0.0, out=block), out=block)
        return out

    def train(self, X: np.ndarray, w: np.ndarray, rng: np.random.Generator):
        som = self.som
        lr, sigma = _schedule(som)
        neigh = neighborhood_function(som.neighborhood)
        grid_d2 = som._grid_d2.astype(np.float64)  # (K, K)
        history: list[dict] = []
        t0 = time.perf_counter()

        def record(epoch: int, bmu_dist, errors, frac: float) -> None:
            history.append({
                "epoch": epoch,
                "quantization_error": float(np.mean(bmu_dist)),
                "topographic_error": float(np.mean(errors)),
                "sigma": sigma(frac),
                "learning_rate": lr(frac) if som.algorithm != "batch" else None,
                "seconds": time.perf_counter() - t0,
            })
            logger.info("som epoch %d: qe %.4f te %.4f", epoch, history[-1]["quantization_error"],
                        history[-1]["topographic_error"])

        n_samples, dim = X.shape
        if som.algorithm == "batch":
            epochs = int(som.epochs)
            for epoch in range(epochs):
                sums, counts = np.zeros((len(w), dim)), np.zeros(len(w))
                _, dist, errors = self.scan(X, w, sums, counts, exact=False)
                frac = epoch / max(epochs - 1, 1)
                if epoch:
                    record(epoch, dist, errors, (epoch - 1) / max(epochs - 1, 1))
                else:
                    record(0, dist, errors, 0.0)
                w = batch_update(w, sums, counts, neigh(grid_d2, sigma(frac)))
            _, dist, errors = self.scan(X, w)
            record(epochs, dist, errors, 1.0)
            return w, history

        _, dist, errors = self.scan(X, w)
        record(0, dist, errors, 0.0)
        total = _steps(som, n_samples)
        order = _order(som, n_samples, total, rng)
        if som.algorithm == "online":
            x64 = np.ascontiguousarray(X, dtype=np.float64)
            w = np.ascontiguousarray(w, dtype=np.float64)
            codes = (_kernels.NEIGHBORHOOD_CODES[som.neighborhood],
                     _kernels.DECAY_CODES[som.decay], _kernels.DISTANCE_CODES[som.distance])
            for epoch, start in enumerate(range(0, total, n_samples), start=1):
                stop = min(start + n_samples, total)
                _kernels.online(x64, w, order[start:stop], start, total, grid_d2, *codes,
                                float(som.learning_rate), float(som.learning_rate_end),
                                som._sigma_start(), float(som.sigma_end))
                _, dist, errors = self.scan(X, w)
                record(epoch, dist, errors, (stop - 1) / max(total - 1, 1))
            return w, history

        batch = int(som.batch_size)
        n_batches = -(-total // batch)
        for epoch, start in enumerate(range(0, total, n_samples), start=1):
            stop = min(start + n_samples, total)
            for b_start in range(start, stop, batch):
                idx = order[b_start:min(b_start + batch, stop)]
                frac = (b_start // batch) / max(n_batches - 1, 1)
                xb = X[idx].astype(np.float64)  # (B, d)
                bmu, _, _ = self.scan(xb, w, exact=False)
                h = neigh(grid_d2[:, bmu], sigma(frac))  # (K, B)
                w = minibatch_update(w, xb, h, lr(frac))
            _, dist, errors = self.scan(X, w)
            record(epoch, dist, errors, (stop - 1) / max(total - 1, 1))
        return w, history


def batch_update(w, sums, counts, h):
    """Batch SOM rule: ``w_k = sum_u h_ku S_u / sum_u h_ku N_u`` (units with no mass stay put).

    ``w`` (K, d), ``sums`` (K, d) per-BMU sums of samples, ``counts`` (K,), ``h`` (K, K).
    Works on numpy arrays and torch tensors alike.
    """
    numerator = h @ sums  # (K, d)
    denominator = h @ counts  # (K,)
    ok = denominator > 1e-12
    safe = denominator + (~ok) * 1.0
    return ok[:, None] * (numerator / safe[:, None]) + (~ok)[:, None] * w


def minibatch_update(w, xb, h, lr: float):
    """Sum of the online updates of a batch, all taken at the same weights, step capped at 1.

    ``w`` (K, d), ``xb`` (B, d), ``h`` (K, B) neighbourhood of each unit to each sample's BMU:
    ``w_k += lr / max(1, lr * H_k) * sum_i h_ki (x_i - w_k)`` with ``H_k = sum_i h_ki``. With one
    sample per batch this is exactly the online rule.
    """
    mass = h.sum(1)  # (K,)
    pull = h @ xb - mass[:, None] * w  # (K, d)
    scale = lr / (1.0 + (lr * mass - 1.0) * (lr * mass > 1.0))  # (K,)
    return w + scale[:, None] * pull


class _TorchRunner:
    """Device path: the same algorithms as torch tensor code (float32 on the device)."""

    def __init__(self, som: SOM) -> None:
        import torch

        self.torch = torch
        self.som = som
        self.device = torch.device(som.device_)
        self.chunk = som._chunk()
        self.neighbors = torch.as_tensor(som._neighbors, dtype=torch.long, device=self.device)
        self.center = torch.as_tensor(som._center, dtype=torch.float32, device=self.device)

    def _tensor(self, a) -> Any:
        return self.torch.as_tensor(np.asarray(a), dtype=self.torch.float32, device=self.device)

    def _input(self, X: np.ndarray, start: int, stop: int):
        return self._tensor(X[start:stop])  # (B, d)

    def _distances(self, xc, w):
        """Full distances (B, K) of raw inputs xc (B, d) to weights w (K, d)."""
        torch = self.torch
        if self.som.distance == "manhattan":
            return torch.cdist(xc, w, p=1)
        if self.som.distance == "cosine":
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

    def scan(self, X: np.ndarray, w: np.ndarray, exact: bool = True):
        bmu, dist, errors = self._scan_tensor(X, self._tensor(w))
        return bmu.cpu().numpy().astype(np.int64), dist.double().cpu().numpy(), \
            errors.cpu().numpy().astype(np.int8)

    def transform(self, X: np.ndarray, w: np.ndarray) -> np.ndarray:
        wt = self._tensor(w)
        return np.concatenate([
            self._distances(self._input(X, s, min(s + self.chunk, len(X))), wt).cpu().numpy()
            for s in range(0, len(X), self.chunk)
        ])

    def train(self, X: np.ndarray, w: np.ndarray, rng: np.random.Generator):
        torch = self.torch
        som = self.som
        lr, sigma = _schedule(som)
        neigh = neighborhood_function(som.neighborhood)
        d2 = torch.as_tensor(som._grid_d2, device=self.device)  # (K, K) float32
        wt = self._tensor(w)  # (K, d)
        history: list[dict] = []
        t0 = time.perf_counter()

        def record(epoch, dist, errors, frac) -> None:
            history.append({
                "epoch": epoch,
                "quantization_error": float(dist.double().mean()),
                "topographic_error": float(errors.double().mean()),
                "sigma": sigma(frac),
                "learning_rate": lr(frac) if som.algorithm != "batch" else None,
                "seconds": time.perf_counter() - t0,
            })

        if som.algorithm == "batch":
            epochs = int(som.epochs)
            for epoch in range(epochs):
                sums = torch.zeros_like(wt)
                counts = torch.zeros(len(wt), device=self.device)
                _, dist, errors = self._scan_tensor(X, wt, sums, counts)
                record(epoch, dist, errors, max(epoch - 1, 0) / max(epochs - 1, 1))
                wt = batch_update(wt, sums, counts, neigh(d2, sigma(epoch / max(epochs - 1, 1))))
            _, dist, errors = self._scan_tensor(X, wt)
            record(epochs, dist, errors, 1.0)
            return wt.double().cpu().numpy(), history

        n_samples = len(X)
        _, dist, errors = self._scan_tensor(X, wt)
        record(0, dist, errors, 0.0)
        total = _steps(som, n_samples)
        order = _order(som, n_samples, total, rng)
        batch = 1 if som.algorithm == "online" else int(som.batch_size)
        n_batches = -(-total // batch)
        for epoch, start in enumerate(range(0, total, n_samples), start=1):
            stop = min(start + n_samples, total)
            for b_start in range(start, stop, batch):
                xb = self._tensor(X[order[b_start:min(b_start + batch, stop)]])  # (B, d)
                step = b_start if batch == 1 else b_start // batch
                frac = step / max((total if batch == 1 else n_batches) - 1, 1)
                bmu = self._distances(xb, wt).argmin(1)  # (B,)
                h = neigh(d2[:, bmu], sigma(frac))  # (K, B)
                wt = minibatch_update(wt, xb, h, lr(frac))
            _, dist, errors = self._scan_tensor(X, wt)
            record(epoch, dist, errors, (stop - 1) / max(total - 1, 1))
        return wt.double().cpu().numpy(), history
