"""The ``SOM`` estimator: fit a self-organizing map, measure it, query it; save and load it
through the engine's one model file (no torch needed to read it back).

Two paths share one estimator. On the CPU (``backend="numpy"``) distances come from BLAS in
float32 blocks, numpy's SIMD argmin finds the best unit and numba kernels add the errors and
the per-unit sums of the batch rule; the online rule is an exact numba loop. Elsewhere
(``backend="torch"``, chosen automatically for CUDA/MPS) the same algorithms run as torch
tensor code on the device. Both backends take plain values (``SearchSpec``,
``TrainSettings``, ``TrainState``, the ``Grid``), never the estimator.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from dlcourse.engine.estimator import Estimator
from dlcourse.engine.interrupt import StopGuard, say_resuming
from dlcourse.som import measures
from dlcourse.som.config import SOMConfig
from dlcourse.som.grid import Grid
from dlcourse.som.init import initial_weights
from dlcourse.som.minisom_names import MiniSomNames
from dlcourse.som.queries import MapQueries
from dlcourse.som.rules import SearchSpec, TrainSettings, TrainState, multi_process
from dlcourse.som.scaling import check_float32_range
from dlcourse.som.sklearn_api import (
    as_matrix,
    checked_weights,
    feature_names,
    plain_labels,
    saved_feature_names,
    set_feature_names,
    set_weights,
)
from dlcourse.som.training import (
    Checkpoint,
    cpu_without_torch,
    data_fingerprint,
    make_runner,
    resolve_backend,
    train_run,
)

# BMU scans keep chunk x units distances; this many float32 values (8 MB) bounds that memory.
CHUNK_VALUES = 1 << 21


class SOM(Estimator, MapQueries, MiniSomNames):
    """A self-organizing map of ``m x n`` units over ``d``-dimensional data.

    Every field of :class:`~dlcourse.som.config.SOMConfig` is a constructor argument and an
    attribute (``som.sigma``); ``m`` and ``n`` may be given by position, and
    ``SOM(config=SOMConfig(...))`` takes a whole config. Values are checked when ``fit`` starts.

    Learned attributes (after ``fit`` or ``load``): ``weights_`` (m, n, d),
    ``quantization_error_``, ``topographic_error_``, ``history_`` (one dict per epoch, epoch 0
    is the start map; for ``"minibatch"`` the inner epochs hold running means over each
    epoch's batches, taken before each update, like a training loss, and the last entry the
    exact final errors), ``n_features_in_``, ``center_`` (the data's mean, subtracted before
    float32 products; zeros for cosine), ``unit_labels_`` (after ``fit(X, y)``: each unit's
    most frequent label, (m, n) nested lists, None where no sample lands; else None),
    ``metadata_`` (plain values saved with the map, e.g. the CLI's scaler and column names: set
    it before ``fit`` and the model file ``fit`` writes holds it). MiniSom's method names
    (``winner``, ``activate``, ``get_weights``, ``quantization``, ``train``, ``train_batch``,
    ...) work too: :class:`~dlcourse.som.minisom_names.MiniSomNames`.

    Example:
        >>> X = np.random.default_rng(0).normal(size=(200, 3))
        >>> som = SOM(6, 6, epochs=5, device="cpu").fit(X)
        >>> som.weights_.shape, som.predict(X[:2]).shape
        ((6, 6, 3), (2, 2))
    """

    config_class = SOMConfig
    lesson = "som"
    framework = "numpy"
    fitted_attribute = "weights_"
    positional = ("m", "n")

    # ------------------------------------------------------------------ configuration
    @property
    def grid(self) -> Grid:
        """The map's :class:`Grid`."""
        c = self.config
        return Grid(int(c.m), int(c.n), c.topology, bool(c.toroidal))

    def _chunk(self) -> int:
        if self.config.chunk_size is not None:
            return int(self.config.chunk_size)
        return max(64, CHUNK_VALUES // (int(self.config.m) * int(self.config.n)))

    def _settings(self) -> TrainSettings:
        """The training hyper-parameters as the plain values the backends take."""
        c = self.config
        return TrainSettings(
            algorithm=c.algorithm, epochs=c.epochs, iterations=c.iterations,
            batch_size=c.batch_size, shuffle=c.shuffle, neighborhood=c.neighborhood,
            decay=c.decay, learning_rate=c.learning_rate, learning_rate_end=c.learning_rate_end,
            sigma=c.sigma_start(), sigma_end=c.sigma_end)

    @classmethod
    def load(cls, directory: str | os.PathLike, device: str | None = None) -> SOM:
        """:meth:`Estimator.load`; a ``device`` given is resolved at once (an unavailable GPU
        is refused here, as the other lessons do), and so is the CPU, which needs no torch
        (``device_`` is then ``"cpu"``); where a GPU may be, the saved device is resolved on
        the first query (importing torch).

        Args:
            directory, device: as :meth:`Estimator.load` takes them.
        """
        som = super().load(directory, device)
        if device is not None or cpu_without_torch(som.config.device, som.config.backend):
            som.backend_, som.device_ = resolve_backend(som.config.device, som.config.backend)
        return som

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]  # transform: float32 distances
        return tags

    def _runner(self):
        if not hasattr(self, "backend_"):  # loaded: resolve where queries run on first use
            self.backend_, self.device_ = resolve_backend(self.config.device, self.config.backend)
        spec = SearchSpec(self.grid.neighbors(), self.config.distance, self.center_, self._chunk())
        return make_runner(spec, self.backend_, self.device_, train=False)

    # ------------------------------------------------------------------ training
    def fit(self, X: Any, y: Any = None, *, out_dir: str | os.PathLike | None = None,
            resume: bool = False, run_info: dict[str, Any] | None = None) -> SOM:
        """Initialise and train the map on ``X`` (N, d), afresh at every call; returns ``self``.

        Args:
            X: the data, (N, d) finite numbers.
            y: optional labels, one per row (they do not move the map): each unit's most
                frequent label becomes ``unit_labels_``, saved with the map.
            out_dir: write ``out_dir/last.safetensors`` during training: after an epoch
                (at most one a second), at the end, and on Ctrl-C, which stops at the next
                safe point (between epochs, mini-batches or chunks of online samples); at the
                end the map's model file too (:meth:`save`), as every lesson's ``fit`` does.
            resume: continue the run in ``out_dir`` from where it stopped; the resumed map is
                the one a run never stopped gives, bit for bit on the CPU.
            run_info: more plain values a resumed run must share (the CLI passes what it did
                to the data, e.g. standardisation).

        Under torchrun (``dlcourse.engine.distributed.init_distributed`` called first) every
        rank passes the same ``X``; with ``algorithm="batch"`` each rank scans only its share
        of the rows and an all-reduce sums the per-unit statistics, so every rank ends with the
        map one process trains (up to float rounding). Online and mini-batch runs are
        sequential: there every rank trains on all of ``X`` by itself.

        Raises:
            ConfigError: a setting out of range or not among the choices, or an online run
                of more than 100 million steps.
            ValueError: ``X`` not 2-D, empty, holding NaN or infinite values, or spread too
                far for the float32 search (rows over 1e18 from the mean).
            DlcourseError: an unavailable device; nothing (or another run) to resume.
            TrainingInterrupted: Ctrl-C (or ``DLCOURSE_INTERRUPT_AFTER=N``: after step N,
                a step being a batch epoch, 2,048 online samples or a mini-batch).
        """
        return self._fit(X, y, out_dir, resume, run_info)

    def _fit(self, X: Any, y: Any = None, out_dir: str | os.PathLike | None = None,
             resume: bool = False, run_info: dict[str, Any] | None = None,
             start: np.ndarray | None = None, rounds: int = 0) -> SOM:
        """:meth:`fit`; ``start``, weights (m, n, d) to continue from (when they fit ``X``),
        in place of ``init``; ``rounds`` (> 0 when continuing) varies the order's seed."""
        config = self.validated_config(out_dir, resume)
        names = feature_names(X)  # a DataFrame's columns: later queries must match them
        X = as_matrix(X)
        config.check_steps(len(X))
        if config.distance != "cosine":  # cosine searches unit rows: nothing to overflow
            check_float32_range(X, [str(j) for j in range(X.shape[1])], "X",
                                "standardise or rescale X")
        labels = None if y is None else plain_labels(y, len(X))  # checked before any work
        self.backend_, self.device_ = resolve_backend(config.device, config.backend)
        grid = self.grid
        # Euclidean distances do not change under a shift: centring keeps float32 BMU search
        # accurate for data far from the origin. Cosine distances do change, so no shift there.
        center = (X.mean(axis=0, dtype=np.float64) if config.distance != "cosine"
                  else np.zeros(X.shape[1]))
        checkpoint = None
        if out_dir is not None:
            settings = {**config.resume_values(), "data": data_fingerprint(X),
                        **(run_info or {})}
            checkpoint = Checkpoint(out_dir, settings, config.to_dict())
        if resume:
            state = checkpoint.read()
            say_resuming(state.epoch, state.epoch if state.finished else state.epoch + 1)
        else:
            rng = np.random.default_rng([config.seed, rounds] if rounds else config.seed)
            if start is not None and start.shape == (config.m, config.n, X.shape[1]):
                start = np.array(start, dtype=np.float64).reshape(grid.size, -1)
            else:
                start = initial_weights(X, grid, config.init, rng)  # (K, d) float64
            # the online/mini-batch order is drawn from here: saved, so a resume draws it again
            state = TrainState(start, order_state=rng.bit_generator.state)
        spec = SearchSpec(grid.neighbors(), config.distance, center, self._chunk())
        state = train_run(make_runner(spec, self.backend_, self.device_), X, state, grid,
                          self._settings(), checkpoint,
                          collective=config.algorithm == "batch" and multi_process(),
                          progress=config.progress)
        with StopGuard(at_end=True):  # a Ctrl-C now waits: the map is trained, its file due
            self.center_ = center
            self.n_features_in_ = X.shape[1]
            set_feature_names(self, names)
            self.weights_ = np.asarray(state.weights, np.float64).reshape(config.m, config.n, -1)
            self.history_ = state.history
            self.quantization_error_ = self.history_[-1]["quantization_error"]
            self.topographic_error_ = self.history_[-1]["topographic_error"]
            self.unit_labels_ = None
            self._rounds = rounds  # MiniSomNames.train continues from here
            if labels is not None:  # X is in the weights' space already: no scaler applies
                best = self._runner().scan(X, self._flat_weights())[0]
                coords = np.stack(np.divmod(best, config.n), axis=1)  # (N, 2)
                self.unit_labels_ = measures.majority_labels(coords, labels,
                                                             (config.m, config.n)).tolist()
            # plain values a caller set before fit (the CLI: its scaler), saved with the map
            self.metadata_ = dict(getattr(self, "metadata_", None) or {})
            if out_dir is not None:
                self.save(out_dir)  # rank 0 only; load(out_dir) reads it, as every lesson
        return self

    @classmethod
    def from_weights(cls, weights: Any, **params: Any) -> SOM:
        """A fitted map with the given (m, n, d) weights, e.g. to measure another library's map.

        ``params`` are config fields (topology, distance, device ...); ``history_`` is empty
        and the errors are measured on demand with :meth:`quantization_error` etc.

        Args:
            weights: (m, n, d) finite unit weights, the grid's rows, columns and features.

        Example:
            >>> w = np.random.default_rng(0).normal(size=(3, 4, 2))
            >>> SOM.from_weights(w, device="cpu").predict(w[0]).tolist()
            [[0, 0], [0, 1], [0, 2], [0, 3]]
        """
        weights = checked_weights(weights)
        som = cls(weights.shape[0], weights.shape[1], **params)
        som.validated_config()
        set_weights(som, weights)
        return som

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """``fit(X, y, **fit_params)`` then ``transform(X)``, as scikit-learn's transformers
        (a map as a step of a ``Pipeline``).

        Args:
            X, y: as :meth:`fit` takes them (``fit_params`` too).
        """
        return self.fit(X, y, **fit_params).transform(X)

    # ------------------------------------------------------------------ persistence
    def _get_state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        arrays = {"weights": np.ascontiguousarray(self.weights_), "center": self.center_}
        values = {"history": self.history_,
                  "quantization_error": getattr(self, "quantization_error_", None),
                  "topographic_error": getattr(self, "topographic_error_", None),
                  "unit_labels": getattr(self, "unit_labels_", None),
                  "feature_names": saved_feature_names(self)}
        return arrays, values

    def _set_state(self, arrays: dict[str, Any], values: dict[str, Any]) -> None:
        from dlcourse.errors import IncompatibleModelError

        weights = np.asarray(arrays["weights"], dtype=np.float64)
        center = np.asarray(arrays["center"], dtype=np.float64)
        expected = (self.config.m, self.config.n)
        if weights.ndim != 3 or weights.shape[:2] != expected or center.shape != weights.shape[2:]:
            raise IncompatibleModelError(
                f"the weights {weights.shape} do not fit the {expected[0]}x{expected[1]} map its "
                "config describes; the file was edited or written by another version: train it "
                "again")
        self.weights_, self.center_ = weights, center
        self.n_features_in_ = weights.shape[2]
        set_feature_names(self, values.get("feature_names"))
        self.history_ = list(values.get("history") or [])
        # files of dlcourse 0.2 and before kept the CLI's unit labels in the metadata
        self.unit_labels_ = values.get("unit_labels", self.metadata_.get("unit_labels"))
        for name in ("quantization_error", "topographic_error"):
            if values.get(name) is not None:
                setattr(self, name + "_", float(values[name]))
