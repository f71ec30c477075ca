"""What a trained map says about data, from plain arrays: input checks, the U-matrix, unit labels.

The :class:`~dlcourse.som.estimator.SOM` methods of the same names call these with its weights
and grid; they take arrays, so other code (the CLI, a MiniSom map) can use them too.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from dlcourse.errors import InputError, check_choice
from dlcourse.som.grid import Grid


def frame_values(X: Any) -> Any:
    """A pandas DataFrame's numbers as floats, its missing values (``pd.NA`` of the nullable
    dtypes) as NaN, so that they are reported as missing rather than as "not numeric"; any
    other ``X`` (and a frame with text columns, refused by name later) as it is."""
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):
        try:
            return X.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            pass
    return X


def as_matrix(X: Any, name: str = "X") -> np.ndarray:
    """``X`` as a 2-D float array of finite values (no copy when it already is one).

    Args:
        X: (N, d) numbers: a numpy array, nested lists, a DataFrame or a torch tensor.
        name: what the messages call it.

    Raises:
        ValueError: not numeric, not 2-D, empty, or holding NaN or infinite values.

    Example:
        >>> as_matrix([[1, 2], [3, 4]]).dtype
        dtype('float64')
    """
    if type(X).__module__.startswith("torch"):
        X = X.detach().cpu().numpy()
    if hasattr(X, "toarray") and hasattr(X, "nnz"):  # scipy.sparse: np.asarray sees one object
        raise InputError(f"{name} is a sparse matrix; a map needs dense rows: pass "
                         f"{name}.toarray() (it holds {X.shape[0]} x {X.shape[1]} values)")
    frame = X
    X = frame_values(X)
    try:
        X = np.asarray(X)
    except ValueError:  # rows of different lengths
        raise InputError(f"{name} has rows of different lengths; give every sample the same "
                         "features") from None
    if X.dtype.kind == "O":  # numbers held as objects (a DataFrame's mixed columns): floats
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError):
            _refuse_text_columns(frame, name)  # a DataFrame's: named, with the drop that fixes it
    if X.dtype.kind not in "fiub":
        raise InputError(f"{name} must be numeric, got dtype {X.dtype}; convert it to floats")
    if X.ndim != 2:
        raise InputError(f"{name} must be 2-D (samples, features), got shape {X.shape}; "
                         "reshape it, e.g. X.reshape(len(X), -1)")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise InputError(f"{name} is empty (shape {X.shape}); pass at least one sample and feature")
    if X.dtype not in (np.float32, np.float64):  # ints, bools, float16: kernels take these two
        X = X.astype(np.float64)
    if not np.isfinite(X).all():
        row, col = np.argwhere(~np.isfinite(X))[0]
        raise InputError(f"{name} holds {X[row, col]} at row {row}, column {col}; drop or impute "
                         "NaN and infinite values first")
    return X


def columns_phrase(names: list) -> tuple[str, str]:
    """("column 'a' is" or "columns 'a', 'b' are", "it" or "them"): the words of a message
    that names non-numeric columns (here and in the table reader's)."""
    if len(names) == 1:
        return f"column {names[0]!r} is", "it"
    return f"columns {', '.join(map(repr, names))} are", "them"


def _refuse_text_columns(frame: Any, name: str) -> None:
    """Refuse a DataFrame whose columns are not all numbers, naming them all and the
    ``drop`` that leaves them out (an ID, a category); anything else returns."""
    dtypes = getattr(frame, "dtypes", None)
    if not hasattr(frame, "columns") or not hasattr(dtypes, "items"):
        return
    text = []
    for column, dtype in dtypes.items():
        if getattr(dtype, "kind", "O") not in "fiub":
            try:
                np.asarray(frame[column]).astype(np.float64)
            except (TypeError, ValueError):  # an object column of numbers is fine
                text.append(column)
    if text:
        what, them = columns_phrase(text)
        raise InputError(f"{name} must be numeric, got dtype object: its {what} not numeric; "
                         f"leave {them} out, e.g. {name}.drop(columns={text!r}), or encode "
                         f"{them} as numbers")


def distance_map(weights: np.ndarray, grid: Grid, scaling: str = "mean") -> np.ndarray:
    """U-matrix: mean (or sum) distance of each unit's weights to its grid neighbours, (m, n).

    Args:
        weights: (m * n, d) unit weights, flat index ``r * n + c``.
        grid: the map's grid (its :meth:`Grid.neighbors` are the neighbours).
        scaling: ``"mean"`` or ``"sum"`` over the neighbours.

    Always Euclidean in weight space.
    """
    check_choice("scaling", scaling, ("mean", "sum"))
    table = grid.neighbors()  # (K, 8)
    valid = table >= 0
    gaps = np.linalg.norm(weights[:, None, :] - weights[np.maximum(table, 0)], axis=-1)  # (K, 8)
    total = (gaps * valid).sum(axis=1)
    if scaling == "mean":
        total = total / np.maximum(valid.sum(axis=1), 1)
    return total.reshape(grid.m, grid.n)


def labels_map(coords: np.ndarray, labels: Sequence) -> dict[tuple[int, int], Counter]:
    """``{(row, col): Counter(labels of the samples that unit wins)}``, a ``defaultdict``: a
    unit that wins nothing reads as an empty Counter (MiniSom's, as an empty list).

    Args:
        coords: (N, 2) best-unit coordinates of the samples.
        labels: one label per sample.

    Raises:
        ValueError: not one label per sample.
    """
    labels = list(labels)
    if len(labels) != len(coords):
        raise InputError(f"got {len(labels)} labels for {len(coords)} samples; pass one per "
                         "sample")
    result: dict[tuple[int, int], Counter] = defaultdict(Counter)
    for (r, c), label in zip(np.asarray(coords).tolist(), labels, strict=True):
        result[r, c][label] += 1
    return result


def majority_labels(coords: np.ndarray, labels: Sequence, shape: tuple[int, int]) -> np.ndarray:
    """Most frequent label per unit, an (m, n) object array (None where a unit wins nothing).

    Example:
        >>> majority_labels(np.array([[0, 0], [0, 0], [0, 1]]), ["a", "a", "b"], (1, 2)).tolist()
        [['a', 'b']]
    """
    grid = np.full(shape, None, dtype=object)
    for (r, c), counts in labels_map(coords, labels).items():
        grid[r, c] = counts.most_common(1)[0][0]
    return grid


def label_agreement(unit_labels: Sequence[Sequence], coords: np.ndarray,
                    labels: Sequence) -> float:
    """Share of samples whose label is their best unit's label; a sample whose best unit has
    no label (it won no training sample) does not agree.

    Args:
        unit_labels: (m, n) nested lists, e.g. the training data's majority labels.
        coords: (N, 2) best-unit coordinates.
        labels: one label per sample (compared as text).

    Returns:
        the share in [0, 1], NaN when there are no samples.

    Example:
        >>> label_agreement([["a", None]], np.array([[0, 0], [0, 0], [0, 1]]), ["a", "b", "b"])
        0.3333333333333333
    """
    hits = [unit_labels[r][c] is not None and str(unit_labels[r][c]) == str(label)
            for (r, c), label in zip(np.asarray(coords).tolist(), labels, strict=True)]
    return float(np.mean(hits)) if hits else float("nan")
