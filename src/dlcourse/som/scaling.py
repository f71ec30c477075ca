"""Scaling SOM data: the saved standardiser and the range the map's float32 distances hold
(:func:`check_float32_range` refuses data too spread out for them)."""

from __future__ import annotations

import numpy as np

from dlcourse.errors import InputError

# a column past this |value| is refused by Standardizer.fit: its x - mean (up to twice it) and
# the map's weights in data units must stay finite in float64 (max 1.8e308)
MAX_STANDARDIZED = np.finfo(np.float64).max / 4
# columns past this |value| get their mean and std from the column divided by its largest
# |value|: N squares of 1e100 sum to far below float64's max for any N
_SQUARES_OVERFLOW = 1e100
# the largest distance of a row from the data's mean (over all columns) that training accepts:
# the best-unit search computes squared distances in float32 (max 3.4e38), between a row and a
# unit both inside the data's box, so up to (2 * 1e18) ** 2 = 4e36, leaving 85x headroom for
# the sums of its matrix product; farther, they overflow to inf and the map is garbage
FLOAT32_RADIUS = 1e18


class SpreadError(InputError):
    """:func:`check_float32_range`'s refusal. ``column`` (its index), ``spread`` and
    ``origin`` let a caller that knows the data better say it again: :meth:`renamed`."""

    def __init__(self, name: str, names: list[str], column: int, spread: float, fix: str,
                 origin: str = "its mean"):
        self.column, self.spread, self.origin = column, spread, origin
        super().__init__(f"{name}: column {names[column]!r} lies up to {spread:.3g} from "
                         f"{origin}; the map's float32 distances overflow past "
                         f"{FLOAT32_RADIUS:.0e} (over all columns): {fix}")

    def renamed(self, name: str, names: list[str], fix: str) -> SpreadError:
        """The same refusal, naming the data ``name``, its columns ``names`` and the fix."""
        return SpreadError(name, names, self.column, self.spread, fix, self.origin)


def check_float32_range(X: np.ndarray, names: list[str], name: str,
                        fix: str = "drop --no-standardize or rescale the data",
                        center: np.ndarray | None = None) -> None:
    """Refuse, before training, data (as the map will see it: after any standardising) whose
    rows lie farther than :data:`FLOAT32_RADIUS` from its mean; standardised data never does.
    With ``center`` (a fitted map's ``center_``), the rows' distance from that instead: new data
    for a map's queries, which search in float32 around the training data's centre.

    Raises:
        SpreadError: an :class:`InputError`, one line naming the most spread-out column and the
            fix.
    """
    if not len(X):
        return
    with np.errstate(over="ignore", invalid="ignore"):  # inf and nan are refused below
        mean = X.mean(axis=0, dtype=np.float64) if center is None else np.asarray(center)
        # (d,) the largest |x - mean| of each column, from its extremes: no (N, d) temporary
        spread = np.maximum(X.max(axis=0).astype(np.float64) - mean,
                            mean - X.min(axis=0).astype(np.float64))
        radius = np.sqrt(np.sum(spread ** 2))
    if not radius <= FLOAT32_RADIUS:  # nan too: a mean that overflowed
        j = int(np.argmax(np.where(np.isnan(spread), np.inf, spread)))
        far = spread[j] if np.isfinite(spread[j]) else float(np.abs(X[:, j]).max())
        raise SpreadError(name, names, j, far, fix,
                          "its mean" if center is None else "the map's centre")


class Standardizer:
    """Per-feature ``(x - mean_) / scale_``; constant features keep scale 1.

    >>> s = Standardizer().fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> s.transform(np.array([[3.0, 5.0]])).tolist()
    [[1.0, 0.0]]
    """

    def fit(self, X: np.ndarray, names: list[str] | None = None) -> Standardizer:
        """Learn the mean and standard deviation of ``X`` (N, d); ``names`` (d,) name the
        columns in the errors (default: their numbers).

        Raises:
            InputError: a column whose values are too large to centre in float64.
        """
        peak = np.abs(X).max(axis=0, initial=0.0).astype(np.float64)  # (d,) largest |value|
        if (peak > MAX_STANDARDIZED).any():
            j = int(np.argmax(peak))
            column = repr(names[j]) if names is not None else str(j + 1)
            raise InputError(f"column {column} holds values up to {peak[j]:.3g}, too large "
                             "to standardise in float64; rescale it (e.g. to other units)")
        with np.errstate(over="ignore", invalid="ignore"):  # big columns are redone below
            self.mean_ = X.mean(axis=0, dtype=np.float64)
            std = X.std(axis=0, dtype=np.float64)
        # squares of values past ~1e154 overflow float64: such a std came out inf and its
        # column was ignored by the map. Divided by its largest |value| first, a column's
        # statistics fit, and multiplying back is exact up to rounding
        big = peak > _SQUARES_OVERFLOW
        if big.any():
            unit = X[:, big] / peak[big]  # (N, b) in [-1, 1]
            self.mean_[big] = unit.mean(axis=0, dtype=np.float64) * peak[big]
            std[big] = unit.std(axis=0, dtype=np.float64) * peak[big]
        # a constant column's std is rounding noise (1e-17 for a column of 0.1), not 0: a
        # scale that small would blow any later value up by 1e16
        tiny = 1e-12 * peak  # relative to the column's values
        self.scale_ = np.where(std > tiny, std, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardise ``X`` (N, d) with the learned statistics."""
        if X.shape[1] != len(self.mean_):
            raise InputError(f"data has {X.shape[1]} features but the scaler was fitted on "
                             f"{len(self.mean_)}; pass data with the training columns")
        return (X - self.mean_) / self.scale_

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Map standardised values (e.g. SOM weights) back to the data's units."""
        return X * self.scale_ + self.mean_

    def to_dict(self) -> dict[str, list[float]]:
        """Plain lists for a model file."""
        return {"mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, state: dict[str, list[float]]) -> Standardizer:
        """Rebuild from :meth:`to_dict`'s output."""
        scaler = cls()
        scaler.mean_ = np.asarray(state["mean"], dtype=np.float64)
        scaler.scale_ = np.asarray(state["scale"], dtype=np.float64)
        return scaler
