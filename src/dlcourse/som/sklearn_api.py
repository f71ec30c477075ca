"""What :class:`~dlcourse.som.estimator.SOM` needs to meet scikit-learn's conventions: its
input checks worded as scikit-learn words them (its estimator checks match on the words), the
labels of ``fit(X, y)`` as plain values, a fitted map set from given weights, and a table's
column names (``feature_names_in_``) checked at every query."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from dlcourse.errors import InputError, InputTypeError
from dlcourse.som import measures


def as_matrix(X: Any, name: str = "X") -> np.ndarray:
    """:func:`dlcourse.som.measures.as_matrix`, whose refusals of complex, non-numeric,
    non-2-D and empty data also carry scikit-learn's words ("Complex data not supported",
    "Reshape your data", "0 feature(s) (shape=(12, 0)) while a minimum of 1 is required");
    values that are not numbers (a dict in a cell) raise :class:`InputTypeError`, a TypeError.
    Data it accepts pass unchanged: the rewording runs only on the way out of an error."""
    try:
        return measures.as_matrix(X, name)
    except InputError:
        better = _sklearn_worded(X, name)
        if better is None:
            raise
        raise better from None


def _sklearn_worded(X: Any, name: str) -> InputError | None:
    """The refusal of ``X`` worded as scikit-learn's checks expect, or None to keep ours."""
    try:
        if type(X).__module__.startswith("torch"):
            X = X.detach().cpu().numpy()
        if hasattr(X, "toarray") and hasattr(X, "nnz"):  # sparse: ours names the fix
            return None
        arr = np.asarray(measures.frame_values(X))
    except (TypeError, ValueError, RuntimeError):
        return None
    if arr.dtype.kind == "c":
        return InputError(f"Complex data not supported: {name} has dtype {arr.dtype}; pass real "
                          f"numbers, e.g. {name}.real or abs({name})")
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except TypeError as err:  # a dict, a list ... in a cell (text raises ValueError)
            return InputTypeError(f"{name} must be numeric, got dtype object ({err}); convert "
                                  "it to floats")
        except ValueError:
            return None
    if arr.dtype.kind not in "fiub":
        return None
    if arr.ndim != 2:
        how = (f"{name}.reshape(-1, 1) if it is one feature, {name}.reshape(1, -1) if it is one "
               "sample" if arr.ndim == 1 else f"e.g. {name}.reshape(len({name}), -1)")
        return InputError(f"{name} must be 2-D (samples, features), got shape {arr.shape}. "
                          f"Reshape your data: {how}")
    if 0 in arr.shape:
        what = "sample(s)" if arr.shape[0] == 0 else "feature(s)"
        return InputError(f"{name} is empty: 0 {what} (shape={arr.shape}) while a minimum of 1 "
                          "is required; pass at least one sample and feature")
    return None


def plain_labels(y: Any, n: int) -> list:
    """``y`` as a list of JSON-ready values (numpy scalars unwrapped), one per row of X.

    Raises:
        InputError: a path where labels go, or not one label per row.
    """
    if isinstance(y, str | os.PathLike):  # fit(X, "runs/x"): out_dir is a keyword
        raise InputError(f"y must hold one label per row of X, got {y!r}; pass the output "
                         "folder as out_dir=...")
    try:  # converted first: array-likes need not support numpy's functions (np.ndim)
        labels = np.asarray(y, dtype=object)
    except ValueError:  # nested sequences of different lengths
        raise InputError(f"y holds sequences of different lengths for {n} rows of X; pass one "
                         "label per row") from None
    if labels.ndim != 1 or len(labels) != n:
        raise InputError(f"y has shape {labels.shape} for {n} rows of X; pass one label per row")
    values = [v.item() if isinstance(v, np.generic) else v for v in labels]
    missing = next((i for i, v in enumerate(values)
                    if v is None or (isinstance(v, float) and v != v)), None)  # NaN != NaN
    if missing is not None:  # a unit's label None read as "won no sample"
        raise InputError(f"y[{missing}] is missing ({values[missing]!r}); drop that row of X "
                         "and y or fill its label")
    return values


def checked_weights(weights: Any) -> np.ndarray:
    """``weights`` as a float64 (m, n, d) array of finite numbers, else InputError (NaN
    weights made the queries blame the data)."""
    try:
        weights = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"weights must be numbers, an (m, n, d) array; got "
                         f"{np.asarray(weights).dtype} values") from None
    if weights.ndim != 3:
        raise InputError(f"weights must be (m, n, d), got shape {weights.shape}")
    if not np.isfinite(weights).all():
        raise InputError(f"weights hold {int((~np.isfinite(weights)).sum())} values that are "
                         "NaN or infinite; a map's weights are finite numbers")
    return weights


def set_weights(som: Any, weights: np.ndarray) -> None:
    """Make ``som`` a fitted map with these (m, n, d) weights (as ``from_weights``): no history,
    no unit labels; the errors of an earlier fit are dropped (they measured other weights)."""
    weights = np.asarray(weights, dtype=np.float64)
    som.weights_ = weights
    som.n_features_in_ = weights.shape[2]
    som.center_ = (weights.reshape(-1, weights.shape[2]).mean(0)
                   if som.config.distance != "cosine" else np.zeros(weights.shape[2]))
    som.history_ = []
    som.unit_labels_ = None
    for name in ("quantization_error_", "topographic_error_"):
        som.__dict__.pop(name, None)


def feature_names(X: Any) -> list[str] | None:
    """The column names of a table ``X`` (a pandas or polars DataFrame), when all are strings
    (scikit-learn's ``feature_names_in_`` rule), else None."""
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = list(columns)
    return names if names and all(isinstance(n, str) for n in names) else None


def check_feature_names(som: Any, X: Any) -> None:
    """Refuse a table whose columns are not the map's, by name or order (a reordered table
    would silently give other units), and warn, as scikit-learn does, when only one side has
    names. Checked before the data is converted; the feature count is checked after."""
    fitted = getattr(som, "feature_names_in_", None)
    names = feature_names(X)
    if fitted is not None and names is not None:
        fitted = [str(n) for n in fitted]
        if names != fitted and len(names) == len(fitted):
            how = ("the same columns in another order" if sorted(names) == sorted(fitted)
                   else f"columns {[n for n in names if n not in fitted]} unseen at fit time")
            raise InputError(f"X has {how}: the map was trained on {fitted}; pass "
                             "X[som.feature_names_in_]")
    elif fitted is not None and not hasattr(X, "columns"):
        warnings.warn(f"X does not have valid feature names, but {type(som).__name__} was "
                      "fitted with feature names", UserWarning, stacklevel=3)
    elif names is not None and fitted is None and getattr(som, "n_features_in_", None):
        warnings.warn(f"X has feature names, but {type(som).__name__} was fitted without "
                      "feature names", UserWarning, stacklevel=3)


def set_feature_names(som: Any, names: list[str] | None) -> None:
    """``som.feature_names_in_`` from ``names``; absent for data without string column names
    (scikit-learn's rule)."""
    if names is None:
        som.__dict__.pop("feature_names_in_", None)
    else:
        som.feature_names_in_ = np.asarray(names, dtype=object)


def saved_feature_names(som: Any) -> list[str] | None:
    """``som.feature_names_in_`` as JSON values for the model file (None without names)."""
    names = getattr(som, "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]
