"""MiniSom's method names on :class:`~dlcourse.som.estimator.SOM`, so that a MiniSom script
ports with its calls as written.

:class:`MiniSomNames` is a mixin: it uses the estimator's ``fit``, ``set_params``,
``bmu_indices``, ``transform`` and ``weights_``. Coordinates are ``(row, col)`` of an m x n
map, as :meth:`SOM.predict` gives them (MiniSom's ``(i, j)`` index its own ``(x, y, d)``
weights array; :mod:`dlcourse.som.compare` converts between the two layouts). Each ``train``
is one ``fit`` from the start weights (``init``), where MiniSom's continues from its current
weights; the ``*_weights_init`` methods choose ``init`` for the next fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse.errors import InputError


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
        """Distances from the sample ``x`` (d,) to every unit, shape (m, n)."""
        return self.transform(_one_sample(x))[0].reshape(self.config.m, self.config.n)

    def get_weights(self) -> np.ndarray:
        """The unit weights (m, n, d), a copy (in the map's space: scaled when it has a
        scaler)."""
        self.check_is_fitted()
        return self.weights_.copy()

    def quantization(self, X: Any) -> np.ndarray:
        """Each sample's nearest unit's weights, shape (N, d): the data as the map codes it."""
        return self.weights_.reshape(-1, self.weights_.shape[-1])[self.bmu_indices(X)]

    def train(self, data: Any, num_iteration: int, random_order: bool = False,
              verbose: bool = False, use_epochs: bool = False, fixed_points: Any = None) -> None:
        """MiniSom's ``train``: the online rule for ``num_iteration`` samples (epochs with
        ``use_epochs``), in random order or cycling through ``data``; sets ``algorithm``,
        ``iterations``/``epochs`` and ``shuffle`` and fits (``verbose`` sets ``progress``).
        The batch algorithm (``fit`` with the defaults) is this lesson's fast path.

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
        self.set_params(**settings).fit(data)

    def train_random(self, data: Any, num_iteration: int, verbose: bool = False) -> None:
        """MiniSom's ``train_random``: :meth:`train` in random order."""
        self.train(data, num_iteration, random_order=True, verbose=verbose)

    def train_batch(self, data: Any, num_iteration: int, verbose: bool = False) -> None:
        """MiniSom's ``train_batch``: :meth:`train` cycling through ``data`` in order (the
        online rule, as MiniSom's; the batch algorithm is ``fit`` with the defaults)."""
        self.train(data, num_iteration, random_order=False, verbose=verbose)

    def random_weights_init(self, data: Any = None) -> None:
        """Start from random samples of the data (``init="sample"``), at the next fit."""
        self.set_params(init="sample")

    def pca_weights_init(self, data: Any = None) -> None:
        """Start from the plane of the data's two main components (``init="pca"``, the
        default), at the next fit."""
        self.set_params(init="pca")
