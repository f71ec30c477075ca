"""What a trained map answers (best units, distances, errors, U-matrix, unit labels), on
:class:`~dlcourse.som.estimator.SOM` through the :class:`MapQueries` mixin.

The mixin uses the estimator's ``check_is_fitted``, ``config``, ``weights_``, ``center_``,
``n_features_in_``, ``metadata_``, ``grid`` and ``_runner()`` (the backend that scans). Every
query takes the data in its own units: :meth:`MapQueries.scale` applies the scaler ``dlcourse
som train`` saved with the map.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlcourse.errors import InputError
from dlcourse.som import measures
from dlcourse.som.scaling import check_float32_range
from dlcourse.som.sklearn_api import as_matrix, check_feature_names, plain_labels


class MapQueries:
    """The query methods of :class:`~dlcourse.som.estimator.SOM` (see the module)."""

    def scale(self, X: Any) -> np.ndarray:
        """``X`` (N, d) as the map's weights see it: standardised with the scaler that
        ``dlcourse som train`` saved in ``metadata_["scaler"]``, unchanged for a map without
        one. Every query (``predict``, ``transform``, the errors ...) applies it itself, so
        they take the data's own units; use this to compare rows with ``weights_``.

        Args:
            X: (N, d) data, as :meth:`fit` takes it.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            ValueError: ``X`` with other features than the map's, or non-finite values.
        """
        self.check_is_fitted()
        check_feature_names(self, X)
        X = as_matrix(X)
        if X.shape[1] != self.n_features_in_:
            # scikit-learn's words (its checks match them), then what to do
            raise InputError(f"X has {X.shape[1]} features, but SOM is expecting "
                             f"{self.n_features_in_} features as input: pass data with the "
                             "columns the map was trained on")
        scaler = (getattr(self, "metadata_", None) or {}).get("scaler")
        if not scaler:
            return X
        from dlcourse.som.scaling import Standardizer

        return Standardizer.from_dict(scaler).transform(X)

    def _matrix(self, X: Any) -> np.ndarray:
        """``X`` scaled, refused (InputError) where the float32 search would overflow: rows
        beyond ``FLOAT32_RADIUS`` of the training data's centre, which fit refuses too."""
        X = self.scale(X)
        if self.config.distance != "cosine" and len(X):  # cosine searches unit rows
            ends = np.stack([X.max(axis=0), X.min(axis=0)])  # (2, d): enough for the spread
            check_float32_range(ends, [str(j) for j in range(X.shape[1])], "X",
                                "pass data in the units and range of the training data",
                                center=self.center_)
        return X

    def _flat_weights(self) -> np.ndarray:
        return self.weights_.reshape(-1, self.n_features_in_)  # (K, d)

    def _scan(self, X: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """BMU (N,), exact distance to it (N,) and topographic-error flags (N,) of ``X``."""
        X = self._matrix(X)
        return self._runner().scan(X, self._flat_weights())

    def bmu_indices(self, X: Any, return_distances: bool = False):
        """Flat index ``r * n + c`` of every sample's best matching unit, shape (N,).

        With ``return_distances`` also each sample's distance to that unit, shape (N,).

        Args:
            X: (N, d) data, as :meth:`fit` takes it.
            return_distances: also return the distances, as a pair ``(indices, distances)``.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            ValueError: ``X`` with other features than the map's, non-finite values, or rows
                beyond float32's range around the map's centre (1e18).
        """
        bmu, dist, _ = self._scan(X)
        return (bmu, dist) if return_distances else bmu

    def predict(self, X: Any) -> np.ndarray:
        """Grid coordinates ``(row, col)`` of every sample's best matching unit, shape (N, 2).

        Args:
            X: (N, d) data, as :meth:`fit` takes it.
        """
        return np.stack(np.divmod(self.bmu_indices(X), self.config.n), axis=1)

    def transform(self, X: Any) -> np.ndarray:
        """Distances from every sample to every unit, (N, m * n) float32 (the search's).

        Args:
            X: (N, d) data, as :meth:`fit` takes it.
        """
        X = self._matrix(X)
        return self._runner().transform(X, self._flat_weights())

    def quantization_error(self, X: Any) -> float:
        """Mean distance from each sample to its best matching unit, in the map's ``distance``
        (MiniSom's is Euclidean whatever its activation distance).

        Args:
            X: (N, d) data, as :meth:`fit` takes it.
        """
        return float(self._scan(X)[1].mean())

    def topographic_error(self, X: Any) -> float:
        """Share of samples whose two best units are not adjacent on the grid (hex-aware).

        Args:
            X: (N, d) data, as :meth:`fit` takes it.
        """
        return float(self._scan(X)[2].mean())

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the quantization error on ``X`` (higher is better; ``y`` is ignored), as
        scikit-learn's ``KMeans.score``: ``GridSearchCV`` and ``cross_val_score`` then pick the
        map nearest to held-out data. A smaller end radius always scores higher; weigh
        :meth:`topographic_error` too when the map's order matters.

        Args:
            X, y: (N, d) data, as :meth:`fit` takes it; ``y`` is ignored.
        """
        return -self.quantization_error(X)

    def evaluate(self, X: Any, y: Any = None) -> dict[str, float]:
        """The map's measures on ``X`` in one pass, as a dict like the other lessons'
        ``evaluate``: ``quantization_error`` and ``topographic_error``; with labels ``y``,
        ``label_agreement`` (the share of samples whose best unit's label, ``unit_labels_``, is
        theirs) when the map has unit labels, else ``label_purity`` (the same against the
        majority labels of ``X`` itself).

        Args:
            X, y: (N, d) data, as :meth:`fit` takes it, and optional labels, one per row.

        Raises:
            NotFittedError: before ``fit`` or ``load``.
            ValueError: ``X`` with other features than the map's, or labels of another length.
        """
        best, dist, miss = self._scan(X)
        row = {"quantization_error": float(dist.mean()), "topographic_error": float(miss.mean())}
        if y is not None:
            labels = plain_labels(y, len(dist))
            coords = np.stack(np.divmod(best, self.config.n), axis=1)  # (N, 2)
            unit_labels = getattr(self, "unit_labels_", None)
            if unit_labels is not None:
                row["label_agreement"] = measures.label_agreement(unit_labels, coords, labels)
            else:  # an unlabelled map: how pure its units are on this data
                own = measures.majority_labels(coords, [str(v) for v in labels],
                                               (self.config.m, self.config.n))
                row["label_purity"] = measures.label_agreement(own.tolist(), coords, labels)
        return row

    def distance_map(self, scaling: str = "mean") -> np.ndarray:
        """U-matrix: mean (or sum) distance of each unit's weights to its grid neighbours, (m, n).

        Always Euclidean in weight space; neighbours as in :meth:`Grid.neighbors`. Not divided
        by its maximum: MiniSom's ``distance_map()`` sums and divides by the largest value, so
        ``som.distance_map("sum") / som.distance_map("sum").max()`` is MiniSom's: on a
        rectangular map for the weights in its layout
        (``dlcourse.som.compare.to_minisom_layout``), on a hexagonal one the transpose of
        MiniSom's for ``MiniSom(n, m, ...)`` holding ``weights_.transpose(1, 0, 2)`` (its grid
        shifts alternate columns where this one shifts rows).

        Args:
            scaling: ``"mean"`` or ``"sum"`` of the distances to the neighbours.
        """
        self.check_is_fitted()
        return measures.distance_map(self._flat_weights(), self.grid, scaling)

    def majority_labels(self, X: Any, labels: Any) -> np.ndarray:
        """Most frequent label per unit, an (m, n) object array (None where a unit wins nothing).

        Args:
            X, labels: (N, d) data, as :meth:`fit` takes it, and one label per row.
        """
        return measures.majority_labels(self.predict(X), labels,
                                        (self.config.m, self.config.n))
