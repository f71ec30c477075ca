"""The map's grid: unit positions (rectangular or hexagonal, optionally toroidal) and adjacency.

Unit ``(r, c)`` (row ``r`` of ``m``, column ``c`` of ``n``) has flat index ``r * n + c``. On a
rectangular grid it sits at ``(x, y) = (c, r)``; on a hexagonal grid odd rows are shifted right by
half a unit and rows are ``sqrt(3)/2`` apart, so every inner unit has six neighbours at distance 1.
A toroidal grid wraps both axes (a hexagonal torus needs an even number of rows so that the
offset pattern repeats).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlcourse.errors import InputError, check_choice
from dlcourse.som.config import TOPOLOGIES

__all__ = ["HEX_ROW_HEIGHT", "TOPOLOGIES", "Grid"]
HEX_ROW_HEIGHT = np.sqrt(3.0) / 2.0


@dataclass(frozen=True)
class Grid:
    """An ``m x n`` grid of units.

    Args:
        m: rows, >= 1 (``m * n >= 2``).
        n: columns, >= 1.
        topology: ``"rectangular"`` or ``"hexagonal"`` (odd rows shifted half a unit right).
        toroidal: wrap both axes (a hexagonal torus needs an even ``m``).

    Raises:
        InputError: an unknown topology, fewer than 2 units, or an odd ``m`` on a hexagonal
            torus.

    >>> Grid(2, 3, "hexagonal").positions()[4].tolist()   # unit (1, 1)
    [1.5, 0.8660254037844386]
    """

    m: int
    n: int
    topology: str = "rectangular"
    toroidal: bool = False

    def __post_init__(self) -> None:
        check_choice("topology", self.topology, TOPOLOGIES)
        if int(self.m) < 1 or int(self.n) < 1:
            raise InputError(f"grid {self.m}x{self.n} is empty; use at least 1x2 units")
        if self.m * self.n < 2:
            raise InputError("a 1x1 grid has no neighbours; use at least 1x2 units")
        if self.toroidal and self.topology == "hexagonal" and self.m % 2:
            raise InputError(
                f"a toroidal hexagonal grid needs an even number of rows, got m={self.m}"
            )

    @property
    def size(self) -> int:
        """Number of units ``m * n``."""
        return self.m * self.n

    def positions(self) -> np.ndarray:
        """Planar positions of the units, shape ``(m * n, 2)`` as ``(x, y)``."""
        r, c = np.divmod(np.arange(self.size), self.n)
        if self.topology == "hexagonal":
            return np.stack([c + 0.5 * (r % 2), r * HEX_ROW_HEIGHT], axis=1).astype(np.float64)
        return np.stack([c, r], axis=1).astype(np.float64)

    def periods(self) -> tuple[float, float]:
        """Wrap lengths along x and y of a toroidal grid."""
        height = self.m * (HEX_ROW_HEIGHT if self.topology == "hexagonal" else 1.0)
        return float(self.n), float(height)

    def offsets(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Shortest planar offsets ``b - a`` between positions, shape ``broadcast(a, b)``.

        Args:
            a: planar positions (..., 2) as ``(x, y)``, e.g. rows of :meth:`positions`.
            b: positions (..., 2) broadcastable against ``a``.
        """
        delta = b - a  # (..., 2)
        if self.toroidal:
            period = np.asarray(self.periods())
            delta = delta - period * np.round(delta / period)
        return delta

    def squared_distances(self) -> np.ndarray:
        """Squared grid distances between all pairs of units, shape ``(K, K)`` float32."""
        pos = self.positions()
        delta = self.offsets(pos[:, None, :], pos[None, :, :])  # (K, K, 2)
        return np.einsum("ijk,ijk->ij", delta, delta).astype(np.float32)

    def gaussian_smooth(self, values: np.ndarray, sigma: float,
                        work: dict | None = None) -> np.ndarray:
        """``sum_u exp(-|p_k - p_u|^2 / (2 sigma^2)) values_u`` for every unit k, (K, c) -> (K, c).

        The gaussian of a planar distance is a product of 1-D gaussians in x and y, so the
        (K, K) neighbourhood matrix is never built: one batched pass along every row (per pair
        of row parities on a hexagonal grid, whose odd rows sit half a unit to the right) and
        one GEMM across the rows, O(m n (m + n) c) instead of O((m n)^2 c), with no transposed
        copies. ``work``: a dict kept by the caller across calls to this grid whose buffers and
        offsets are reused (fresh large arrays cost page faults); the result then lives in it
        until the next call.

        Args:
            values: (K, c) per-unit values in flat order ``r * n + c`` ((K,) gives (K, 1)).
            sigma: the gaussian's radius in grid units, > 0.
            work: the caller's reusable buffers, as above; None: fresh arrays every call.
        """
        m, n = self.m, self.n
        work = {} if work is None else work
        if "offsets" not in work:  # squared 1-D offsets: they depend on the grid only
            work["offsets"] = self._squared_offsets()
        across2, along2 = work["offsets"]  # (m, m), {(target, source): (n, n)}
        scale = -0.5 / (sigma * sigma)

        def buffer(name: str, shape: tuple[int, ...]) -> np.ndarray:
            if name not in work or work[name].shape != shape:
                work[name] = np.empty(shape)
            return work[name]

        grid = values.reshape(m, n, -1)  # (m, n, c)
        across = np.exp(across2 * scale)  # (m, m)
        parities = range(self._row_parities())
        stride = len(parities)
        out = buffer("out", grid.shape)
        along = buffer("along", grid.shape)  # rows smoothed along x towards one target parity
        for target in parities:
            for source in parities:
                ax = np.exp(along2[target, source] * scale)  # (n, n)
                # (n, n) @ (n, c) for every row of this parity: one batched matmul
                np.matmul(ax, grid[source::stride], out=along[source::stride])
            picked = across[target::stride]  # (r, m)
            np.matmul(picked, along.reshape(m, -1),
                      out=out[target::stride].reshape(picked.shape[0], -1))  # (r, n * c)
        return out.reshape(m * n, -1)

    def _squared_offsets(self) -> tuple[np.ndarray, dict[tuple[int, int], np.ndarray]]:
        """Squared y offsets between rows (m, m) and squared x offsets between columns (n, n)
        for each (target, source) row parity (hexagonal odd rows sit half a unit right)."""
        period_x, period_y = self.periods()
        step_y = HEX_ROW_HEIGHT if self.topology == "hexagonal" else 1.0

        def squared(delta: np.ndarray, period: float) -> np.ndarray:
            if self.toroidal:
                delta = delta - period * np.round(delta / period)
            return delta * delta

        rows, cols = np.arange(self.m), np.arange(self.n)
        parities = (0, 1) if self.topology == "hexagonal" else (0,)
        along = {(t, s): squared(cols[:, None] + 0.5 * (t - s) - cols[None, :], period_x)
                 for t in parities for s in parities}
        return squared((rows[:, None] - rows[None, :]) * step_y, period_y), along

    def _row_parities(self) -> int:
        """How many row parities the separable smoothing tells apart: 2 on a hexagonal grid of
        several rows (its odd rows sit half a unit right), else 1 (a one-row hexagonal grid
        has no odd rows to shift)."""
        return 2 if self.topology == "hexagonal" and self.m > 1 else 1

    def separable_offsets(self) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`gaussian_smooth`'s squared offsets as float64 arrays: between rows (m, m) and
        between columns (P, P, n, n) per (target, source) row parity, P = 2 on a hexagonal
        grid of several rows, else 1 (``dlcourse.som._kernels.gaussian_smooth`` takes them)."""
        across2, along = self._squared_offsets()
        parities = range(self._row_parities())
        along2 = np.array([[along[t, s] for s in parities] for t in parities])
        return across2.astype(np.float64), along2.astype(np.float64)

    def neighbors(self) -> np.ndarray:
        """Adjacent units of every unit, shape ``(K, 8)`` int32 padded with -1.

        Rectangular grids use the 8-neighbourhood (diagonals count, as in MiniSom's topographic
        error); hexagonal grids the six units at distance 1.
        """
        pos = self.positions()
        units = np.arange(self.size)
        r, c = np.divmod(units, self.n)
        limit = 2.0 if self.topology == "rectangular" else 1.0
        dr, dc = np.divmod(np.arange(9), 3)  # the 3 x 3 block of grid offsets around a unit
        rr, cc = r[:, None] + (dr - 1), c[:, None] + (dc - 1)  # (K, 9)
        if self.toroidal:
            rr, cc = rr % self.m, cc % self.n
        ok = (rr >= 0) & (rr < self.m) & (cc >= 0) & (cc < self.n)
        other = np.where(ok, rr * self.n + cc, 0)  # (K, 9)
        delta = self.offsets(pos[:, None, :], pos[other])  # (K, 9, 2)
        ok &= np.einsum("ijk,ijk->ij", delta, delta) <= limit + 1e-9
        ok &= other != units[:, None]
        table = np.sort(np.where(ok, other, -1), axis=1)  # (K, 9)
        # small toroidal grids reach one unit by two offsets: keep it once
        table[:, 1:][table[:, 1:] == table[:, :-1]] = -1
        table = -np.sort(-table, axis=1)  # valid indices first, -1 padding last
        return table[:, :8].astype(np.int32)
