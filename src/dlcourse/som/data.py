"""Tables for the SOM lesson: named data sets, CSV and .npy files, and a saved standardiser.

``load_table("sklearn:iris")``, ``load_table("fashion-mnist")``, ``load_table("data.csv")`` all
return a :class:`Table` of float features, optional labels and feature names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.errors import DlcourseError

SKLEARN_SETS = ("iris", "wine", "digits", "breast_cancer")
IMAGE_SETS = ("fashion-mnist", "mnist-5k")
LABEL_COLUMNS = ("label", "labels", "class", "target", "species", "y")


@dataclass
class Table:
    """Features ``X`` (N, d) float, ``labels`` (N,) or None, ``feature_names`` (d,), ``name``."""

    X: np.ndarray
    labels: np.ndarray | None
    feature_names: list[str]
    name: str


def load_table(spec: str, label_column: str | None = None, limit: int | None = None,
               seed: int = 0) -> Table:
    """Load ``spec``: ``sklearn:NAME`` (iris, wine, digits, breast_cancer), ``fashion-mnist``
    or ``mnist-5k`` (pixels scaled to [0, 1]), a ``.npy`` matrix, or a ``.csv`` file.

    A CSV's numeric columns are the features; its labels come from ``label_column`` or a column
    named label/class/target/species/y, or the one non-numeric column. ``limit`` keeps a seeded
    random subset of that many rows. Raises DlcourseError naming the problem and the fix.
    """
    if spec.startswith("sklearn:"):
        table = _sklearn(spec.split(":", 1)[1])
    elif spec in IMAGE_SETS:
        table = _images(spec)
    else:
        path = Path(spec)
        if not path.exists():
            raise DlcourseError(
                f"data {spec!r} not found; pass a .csv or .npy file, sklearn:NAME "
                f"({', '.join(SKLEARN_SETS)}) or one of {', '.join(IMAGE_SETS)}")
        if path.suffix == ".npy":
            table = _npy(path)
        elif path.suffix in (".csv", ".gz", ".txt", ".tsv"):
            table = _csv(path, label_column)
        else:
            raise DlcourseError(f"cannot read {path.name}: use a .csv or .npy file")
    if limit is not None and limit < len(table.X):
        keep = np.sort(np.random.default_rng(seed).choice(len(table.X), limit, replace=False))
        table = Table(table.X[keep], None if table.labels is None else table.labels[keep],
                      table.feature_names, table.name)
    return table


def _sklearn(name: str) -> Table:
    try:
        import sklearn.datasets as sets
    except ImportError as exc:
        raise DlcourseError("sklearn: data sets need scikit-learn; pip install "
                            "'scikit-learn'") from exc

    if name not in SKLEARN_SETS:
        raise DlcourseError(f"unknown data set sklearn:{name}; choose one of "
                            + ", ".join(f"sklearn:{n}" for n in SKLEARN_SETS))
    bunch = getattr(sets, f"load_{name}")()
    names = [str(n) for n in getattr(bunch, "feature_names", [])] or \
        [f"x{i}" for i in range(bunch.data.shape[1])]
    labels = np.asarray(bunch.target_names)[bunch.target] if name != "digits" else bunch.target
    return Table(bunch.data.astype(np.float64), np.asarray(labels), names, f"sklearn:{name}")


def _images(name: str) -> Table:
    from dlcourse.data import readers

    images, labels = (readers.read_fashion_mnist("train") if name == "fashion-mnist"
                      else readers.read_mnist_5k())
    X = images.reshape(len(images), -1).astype(np.float32) / 255.0  # (N, 784)
    size = images.shape[1]
    names = [f"px{r}_{c}" for r in range(size) for c in range(size)]
    return Table(X, np.asarray(labels), names, name)


def _npy(path: Path) -> Table:
    try:
        X = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DlcourseError(f"cannot read {path}: {exc}; save a plain numeric array") from exc
    if X.ndim != 2 or X.dtype.kind not in "fiu":
        raise DlcourseError(f"{path} holds a {X.dtype} array of shape {X.shape}; "
                            "save a 2-D numeric (samples, features) array")
    return Table(X, None, [f"x{i}" for i in range(X.shape[1])], str(path))


def _csv(path: Path, label_column: str | None) -> Table:
    try:
        import pandas as pd
    except ImportError as exc:
        raise DlcourseError("reading CSV files needs pandas; pip install 'dlcourse[tables]'") \
            from exc

    try:
        frame = pd.read_csv(path, sep=None, engine="python")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DlcourseError(f"cannot parse {path}: {str(exc).splitlines()[0]}") from exc
    if all(_is_number(c) for c in frame.columns):  # no header row: the first line is data
        frame = pd.read_csv(path, sep=None, engine="python", header=None)
        frame.columns = [f"x{i}" for i in range(frame.shape[1])]
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if label_column is not None and label_column not in columns:
        raise DlcourseError(f"{path} has no column {label_column!r}; columns: {', '.join(columns)}")
    text = [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if label_column is None:
        named = [c for c in columns if c.lower() in LABEL_COLUMNS]
        label_column = named[0] if named else (text[0] if len(text) == 1 else None)
    others = [c for c in text if c != label_column]
    if others:
        raise DlcourseError(f"{path}: column {others[0]!r} is not numeric; drop it or name it "
                            "with --label-column")
    features = [c for c in columns if c != label_column]
    if not features:
        raise DlcourseError(f"{path} has no numeric feature columns")
    X = frame[features].to_numpy(dtype=np.float64)
    if np.isnan(X).any():
        row = int(np.argwhere(np.isnan(X))[0][0])
        raise DlcourseError(f"{path}: missing value in data row {row + 1}; fill or drop it")
    labels = frame[label_column].to_numpy() if label_column else None
    return Table(X, labels, features, str(path))


def _is_number(text: Any) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


class Standardizer:
    """Per-feature ``(x - mean_) / scale_``; constant features keep scale 1.

    >>> s = Standardizer().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.transform(np.array([[3.0, 5.0]])).tolist()
    [[1.0, 0.0]]
    """

    def fit(self, X: np.ndarray) -> Standardizer:
        """Learn the mean and standard deviation of ``X`` (N, d)."""
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        std = X.std(axis=0, dtype=np.float64)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardise ``X`` (N, d) with the learned statistics."""
        if X.shape[1] != len(self.mean_):
            raise DlcourseError(f"data has {X.shape[1]} features but the scaler was fitted on "
                                f"{len(self.mean_)}; pass data with the training columns")
        return (X - self.mean_) / self.scale_

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Map standardised values (e.g. SOM weights) back to the data's units."""
        return X * self.scale_ + self.mean_

    def to_dict(self) -> dict[str, list[float]]:
        """Plain lists for a checkpoint."""
        return {"mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, state: dict[str, list[float]]) -> Standardizer:
        """Rebuild from :meth:`to_dict`'s output."""
        scaler = cls()
        scaler.mean_ = np.asarray(state["mean"], dtype=np.float64)
        scaler.scale_ = np.asarray(state["scale"], dtype=np.float64)
        return scaler
