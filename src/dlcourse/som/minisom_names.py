"""MiniSom's method names on :class:`~dlcourse.som.estimator.SOM`, so that a MiniSom script
ports with its calls as written.

:class:`MiniSomNames` is a mixin: it uses the estimator's ``fit``, ``set_params``,
``bmu_indices``, ``transform`` and ``weights_``. Coordinates are ``(row, col)`` of an m x n
map, as :meth:`SOM.predict` gives them (MiniSom's ``(i, j)`` index its own ``(x, y, d)``
weights array; :mod:`dlcourse.som.compare` converts between the two layouts). As in MiniSom,
``train`` continues from the map's current weights (a trained map's, or those a
``*_weights_init(data)`` set), its schedule starting again; ``fit`` always starts afresh.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import numpy as np

from dlcourse.errors import InputError
from dlcourse.som import measures
from dlcourse.som.init import initial_weights
from dlcourse.som.sklearn_api import as_matrix, set_weights


def _one_sample(x: Any) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 1:
        raise InputError(f"x must be one sample, a 1-D array of features, got shape {x.shape}; "
                         "use predict(X) or transform(X) for many")
    return x[None, :]


class MiniSomNames:
    """MiniSom's names for one sample's winner and activation, the weights, the quantization and
    the three ways it trains."""

    def winner(self, x: Any) -> tuple[int, int]:
        """``(row, col)`` of the unit nearest the sample ``x`` (d,)."""
        return tuple(int(v) for v in np.divmod(int(self.bmu_indices(_one_sample(x))[0]),
                                               self.config.n))

    def activate(self, x: Any) -> np.ndarray:
        """Distances from the sample ``x`` (d,) to every unit, shape (m, n), float64 as
        MiniSom's (:meth:`transform`'s float32 values)."""
        distances = self.transform(_one_sample(x))[0].astype(np.float64)
        return distances.reshape(self.config.m, self.config.n)

    def get_weights(self) -> np.ndarray:
        """The unit weights (m, n, d), a copy (in the map's space: scaled when it has a
        scaler)."""
        self.check_is_fitted()
        return self.weights_.copy()

    def quantization(self, X: Any) -> np.ndarray:
        """Each sample's nearest unit's weights, shape (N, d): the data as the map codes it,
        in ``X``'s units (a map holding the CLI's scaler maps its weights back to them)."""
        best = self.bmu_indices(X)  # checks the map is fitted, and X
        codes = self._flat_weights()[best]  # (N, d), in the map's space
        scaler = (getattr(self, "metadata_", None) or {}).get("scaler")
        if not scaler:
            return codes
        from dlcourse.som.scaling import Standardizer

        return Standardizer.from_dict(scaler).inverse_transform(codes)

    def train(self, data: Any, num_iteration: int, random_order: bool = False,
              verbose: bool = False, use_epochs: bool = False, fixed_points: Any = None) -> None:
        """MiniSom's ``train``: the online rule for ``num_iteration`` samples (epochs with
        ``use_epochs``), in random order or cycling through ``data``; sets ``algorithm``,
        ``iterations``/``epochs`` and ``shuffle`` (``verbose`` sets ``progress``) and trains.
        The batch algorithm (``fit`` with the defaults) is this lesson's fast path.

        Like MiniSom's, it continues from the current weights when the map has them for this
        grid and ``data``'s features (the sigma and learning-rate schedule start again, and
        the random order is drawn anew each call); else it starts from ``init`` as ``fit``.
        A map whose model file holds the CLI's scaler (its weights are in standardised units)
        starts afresh too.

        Raises:
            InputError: ``fixed_points`` (samples pinned to units are not supported).
        """
        if fixed_points:
            raise InputError("train(fixed_points=...) (samples pinned to units) is not "
                             "supported; drop fixed_points")
        settings = {"algorithm": "online", "shuffle": bool(random_order),
                    "progress": bool(verbose)}
        if use_epochs:
            settings.update(epochs=num_iteration, iterations=None)
        else:
            settings.update(iterations=num_iteration)
        rounds = getattr(self, "_rounds", 0)
        scaler = (getattr(self, "metadata_", None) or {}).get("scaler")
        if not self.is_fitted or rounds is None or scaler:
            self.set_params(**settings)._fit(data)
        else:  # _fit starts afresh where the weights do not fit data's features
            self.set_params(**settings)._fit(data, start=self.weights_, rounds=rounds + 1)

    def train_random(self, data: Any, num_iteration: int, verbose: bool = False) -> None:
        """MiniSom's ``train_random``: :meth:`train` in random order."""
        self.train(data, num_iteration, random_order=True, verbose=verbose)

    def train_batch(self, data: Any, num_iteration: int, verbose: bool = False) -> None:
        """MiniSom's ``train_batch``: :meth:`train` cycling through ``data`` in order from
        its first row at every call (the online rule, as MiniSom's; the batch algorithm is
        ``fit`` with the defaults)."""
        self.train(data, num_iteration, random_order=False, verbose=verbose)

    def random_weights_init(self, data: Any = None) -> None:
        """Set the weights to random samples of ``data`` (``init="sample"``, seeded by
        ``seed``), as MiniSom's; the next :meth:`train` starts from them. Without ``data``,
        only ``init``: the next ``train`` starts afresh from it."""
        self._init_weights("sample", data)

    def pca_weights_init(self, data: Any = None) -> None:
        """Set the weights on the plane of ``data``'s two main components (``init="pca"``, the
        default; +-2 standard deviations around the mean, where MiniSom's spans +-1 of the
        uncentred components); the next :meth:`train` starts from them. Without ``data``, only
        ``init``: the next ``train`` starts afresh from it."""
        self._init_weights("pca", data)

    def _init_weights(self, init: str, data: Any) -> None:
        self.set_params(init=init)
        if data is None:
            self._rounds = None  # the next train starts from init
            return
        X = as_matrix(data, "data")
        config = self.validated_config()  # drops a loaded map's metadata (its scaler)
        start = initial_weights(X, self.grid, init, np.random.default_rng(config.seed))
        set_weights(self, start.reshape(config.m, config.n, X.shape[1]))
        self._rounds = 0

    def activation_response(self, X: Any) -> np.ndarray:
        """Hit map: how many samples each unit wins, shape (m, n)."""
        hits = np.bincount(self.bmu_indices(X), minlength=self.grid.size)
        return hits.reshape(self.config.m, self.config.n)

    def win_map(self, X: Any, return_indices: bool = False) -> dict[tuple[int, int], list]:
        """``{(row, col): [samples (or their indices) won by that unit]}``: MiniSom's
        ``defaultdict(list)``, so a unit that wins nothing reads as ``[]``."""
        coords = self.predict(X)
        X = as_matrix(X)
        result: dict[tuple[int, int], list] = defaultdict(list)
        for i, (r, c) in enumerate(coords.tolist()):
            result[r, c].append(i if return_indices else X[i])
        return result

    def labels_map(self, X: Any, labels: Any) -> dict[tuple[int, int], Counter]:
        """``{(row, col): Counter(labels of the samples that unit wins)}``."""
        return measures.labels_map(self.predict(X), labels)

    def get_euclidean_coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """MiniSom's unit positions on the plane, ``(xx, yy)`` of shape (m, n) each: unit
        ``(i, j)`` lies at ``(xx[i, j], yy[i, j])``, MiniSom's numbers (x along ``i``; a
        hexagonal map shifts every other ``j`` by half a unit and scales y by sqrt(3)/2), so
        its hexagonal plotting recipes draw this map as they draw theirs."""
        m, n = self.config.m, self.config.n
        xx, yy = np.meshgrid(np.arange(m, dtype=float), np.arange(n, dtype=float))  # (n, m)
        if self.config.topology == "hexagonal":
            xx[::-2] -= 0.5
            yy *= np.sqrt(3) / 2
        return xx.T, yy.T

    def convert_map_to_euclidean(self, xy: Any) -> tuple[Any, Any]:
        """MiniSom's plane position of the unit ``xy`` (a ``(row, col)`` pair, as ``winner``
        returns), as :meth:`get_euclidean_coordinates` places it."""
        xx, yy = self.get_euclidean_coordinates()
        return xx[tuple(xy)], yy[tuple(xy)]
