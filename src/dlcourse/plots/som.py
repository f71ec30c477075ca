"""Figures of the SOM lesson: U-matrix, hit map with labels, component planes, weight scatter.

Arrays in, PNG path out. Hexagonal maps are drawn as hexagons (odd rows shifted half a unit,
rows sqrt(3)/2 apart, as ``dlcourse.som`` lays them out), rectangular ones as squares; row 0 is
at the top. Nothing here imports torch (``dlcourse som plot`` runs without it) or the SOM
lesson: topologies are named by string.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlcourse.errors import InputError
from dlcourse.plots.common import epoch_axis, new_figure, save_figure


def _positions(m: int, n: int, topology: str) -> np.ndarray:
    """Planar (x, y) of the units of an m x n map, row-major, (m * n, 2)."""
    r, c = np.divmod(np.arange(m * n), n)
    if topology == "hexagonal":
        return np.stack([c + 0.5 * (r % 2), r * np.sqrt(3) / 2], axis=1).astype(float)
    return np.stack([c, r], axis=1).astype(float)


def _links(m: int, n: int, topology: str) -> np.ndarray:
    """Pairs (i, j) of adjacent units, each once, (E, 2): right and down (and the diagonals)
    on a rectangular map, the six neighbours on a hexagonal one."""
    r, c = np.divmod(np.arange(m * n), n)
    if topology == "hexagonal":  # the next row's two neighbours sit left/right of an odd shift
        steps = [(0, 1), (1, r % 2 - 1), (1, r % 2)]
    else:
        steps = [(0, 1), (1, 0), (1, 1), (1, -1)]
    pairs = []
    for dr, dc in steps:
        rr, cc = r + dr, c + dc
        ok = (rr < m) & (cc >= 0) & (cc < n)
        pairs.append(np.stack([np.flatnonzero(ok), (rr * n + cc)[ok]], axis=1))
    return np.concatenate(pairs)


def _cells(ax, values: np.ndarray, topology: str, cmap: str = "viridis", vmin=None, vmax=None):
    """Draw an (m, n) array as one coloured cell per unit; returns the collection (colorbar)."""
    from matplotlib.collections import PolyCollection

    m, n = values.shape
    pos = _positions(m, n, topology)  # (K, 2)
    if topology == "hexagonal":
        angles = np.deg2rad(np.arange(6) * 60 + 30)
        radius = 1 / np.sqrt(3)  # pointy-top hexagons that tile rows sqrt(3)/2 apart
        shape = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (6, 2)
    else:
        shape = 0.5 * np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float)  # (4, 2)
    polygons = pos[:, None, :] + shape[None, :, :]  # (K, corners, 2)
    collection = PolyCollection(polygons, array=values.ravel().astype(float), cmap=cmap,
                                edgecolors="face", linewidths=0.3)
    collection.set_clim(vmin, vmax)
    ax.add_collection(collection)
    ax.set_xlim(pos[:, 0].min() - 0.7, pos[:, 0].max() + 0.7)
    ax.set_ylim(pos[:, 1].max() + 0.7, pos[:, 1].min() - 0.7)  # row 0 on top
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return collection, pos


def _map_size(m: int, n: int, box: tuple[float, float], cell_max: float = 0.3,
              cell_min: float = 0.0, topology: str = "rectangular") -> tuple[float, float]:
    """Inches (width, height) of one map panel whose cells are square: an m x n map scaled to
    fit ``box``, each cell between ``cell_min`` and ``cell_max`` inches (a 1 x 200 map is a
    wide strip, not a strip lost in a square figure). Hexagonal rows lie sqrt(3)/2 apart, so
    such a map is that much less tall (a square panel left a gap under it)."""
    rows = m * (np.sqrt(3) / 2 if topology == "hexagonal" else 1.0)
    cell = min(cell_max, box[0] / n, box[1] / rows)
    cell = max(cell, cell_min)
    return n * cell, rows * cell


def _colorbar(fig, collection, ax, m: int, n: int, **kwargs) -> None:
    """A colorbar beside a map, or under it when the map is much wider than tall, as long as
    the map's side: one sized as a share of the figure stood taller than a hexagonal map (its
    rows are closer than its columns) and ran into the title."""
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    wide = n >= 3 * m
    cax = make_axes_locatable(ax).append_axes("bottom" if wide else "right",
                                              size="8%" if wide else "5%", pad=0.15)
    fig.colorbar(collection, cax=cax, orientation="horizontal" if wide else "vertical",
                 **kwargs)


def plot_umatrix(umatrix: np.ndarray, path: str | os.PathLike, topology: str = "rectangular",
                 title: str = "U-matrix (mean distance to neighbours)") -> Path:
    """Draw the U-matrix (``SOM.distance_map()``, shape (m, n)): dark cells are cluster borders."""
    umatrix = np.asarray(umatrix, dtype=float)
    m, n = umatrix.shape
    width, height = _map_size(m, n, (10.0, 5.0), topology=topology)
    fig, ax = new_figure(max(4.0, width + 1.5), max(2.5, height + 1.2))
    collection, _ = _cells(ax, umatrix, topology, cmap="bone_r")
    _colorbar(fig, collection, ax, m, n)
    ax.set_title(title)
    return save_figure(fig, path)


def plot_hit_map(hits: np.ndarray, path: str | os.PathLike, topology: str = "rectangular",
                 labels: np.ndarray | None = None, title: str = "Hit map") -> Path:
    """Hit counts per unit (``SOM.activation_response``), with each unit's majority label.

    ``labels`` is an optional (m, n) array (``SOM.majority_labels``; None where nothing hits);
    each label is written in its cell, shortened by :func:`cell_labels`.
    """
    hits = np.asarray(hits, dtype=float)
    m, n = hits.shape
    # cells wide enough for a label when there are labels, within 30 x 20 inches
    width, height = _map_size(m, n, (30.0, 20.0), cell_max=0.32,
                              cell_min=0.0 if labels is None else 0.32, topology=topology)
    fig, ax = new_figure(max(4.0, min(width, 30.0) + 2), max(2.5, min(height, 20.0) + 1.5))
    collection, pos = _cells(ax, hits, topology, cmap="Blues")
    _colorbar(fig, collection, ax, m, n, label="samples won")
    if labels is not None:
        labels = np.asarray(labels, dtype=object).ravel()
        short = cell_labels(labels)
        top = hits.max() or 1.0
        for (x, y), label, count in zip(pos, labels, hits.ravel(), strict=True):
            if label is not None:
                ax.text(x, y, short[str(label)], ha="center", va="center", fontsize=7,
                        color="white" if count > 0.6 * top else "black")
    ax.set_title(title)
    return save_figure(fig, path)


def cell_labels(labels, width: int = 6) -> dict[str, str]:
    """Each distinct label's text in a map cell: at most ``width`` characters, told apart.

    The prefix all labels share up to a separator goes first (``class_0``, ``class_1`` ->
    ``0``, ``1``), then labels are cut to ``width`` characters, or to more where that would
    merge two of them.

    Args:
        labels: the labels, None for none (an empty cell).
    """
    names = sorted({str(label) for label in labels if label is not None})
    prefix = os.path.commonprefix(names) if len(names) > 1 else ""
    # up to its last separator: "class_" goes, the "1" of 10, 11, 12 stays
    prefix = prefix[:max((i + 1 for i, ch in enumerate(prefix) if not ch.isalnum()), default=0)]
    rest = [name[len(prefix):] or name for name in names]
    longest = max((len(r) for r in rest), default=width)
    keep = next((w for w in range(width, longest) if len({r[:w] for r in rest}) == len(rest)),
                longest)
    return {name: r[:keep] for name, r in zip(names, rest, strict=True)}


def plot_component_planes(weights: np.ndarray, path: str | os.PathLike,
                          features: Sequence[int] | None = None,
                          names: Sequence[str] | None = None,
                          topology: str = "rectangular", columns: int = 4) -> Path:
    """One panel per feature: that weight component across the map, shape (m, n) each.

    ``weights`` is (m, n, d); ``features`` picks components (default: the 8 that vary most
    over the map, in column order: the first 8 pixels of an image are its blank corner).
    """
    weights = np.asarray(weights, dtype=float)
    features = varying_features(weights) if features is None else list(features)
    if not features:
        raise InputError("no features to plot; pass at least one component index")
    columns = min(columns, len(features))
    rows = -(-len(features) // columns)
    m, n = weights.shape[:2]
    width, height = _map_size(m, n, (3.0, 3.0), topology=topology)
    fig, axes = new_figure(max(2.5, width + 0.9) * columns, max(1.5, height + 0.9) * rows,
                           nrows=rows, ncols=columns, squeeze=False)
    for ax, k in zip(axes.ravel(), features, strict=False):
        collection, _ = _cells(ax, weights[:, :, k], topology, cmap="coolwarm")
        _colorbar(fig, collection, ax, m, n)
        ax.set_title(names[k] if names is not None else f"feature {k}", fontsize=9)
    for ax in axes.ravel()[len(features):]:
        ax.axis("off")
    return save_figure(fig, path)


def varying_features(weights: np.ndarray, k: int = 8) -> list[int]:
    """The ``k`` components of ``weights`` (m, n, d) that vary most over the map, in column
    order (ties: the first)."""
    spread = np.asarray(weights, dtype=float).reshape(-1, np.shape(weights)[-1]).var(axis=0)
    return sorted(int(i) for i in np.argsort(-spread, kind="stable")[:k])


def plot_weight_scatter(X: np.ndarray, weights: np.ndarray, path: str | os.PathLike,
                        topology: str = "rectangular", dims: tuple[int, int] = (0, 1),
                        labels: Sequence | None = None, names: Sequence[str] | None = None,
                        title: str = "Map in data space") -> Path:
    """The lesson's picture: samples and unit weights in two data dimensions, grid links drawn.

    ``X`` (N, d), ``weights`` (m, n, d); ``dims`` are the two plotted features, ``names`` the
    feature names for the axes, ``labels`` colour the samples (a legend names up to 20).
    """
    from matplotlib.collections import LineCollection

    X, weights = np.asarray(X, dtype=float), np.asarray(weights, dtype=float)
    m, n, _ = weights.shape
    a, b = dims
    w2d = weights.reshape(m * n, -1)[:, [a, b]]  # (K, 2)
    pairs = _links(m, n, topology)  # (E, 2)
    fig, ax = new_figure(6, 5.5)
    if labels is None:
        ax.scatter(X[:, a], X[:, b], s=6, alpha=0.5, linewidths=0)
    else:  # one colour per label, named in a legend (up to 20 of them)
        classes, index = np.unique(np.asarray(labels), return_inverse=True)
        for k, name in enumerate(classes):
            ax.scatter(X[index == k, a], X[index == k, b], s=6, color=f"C{k % 10}", alpha=0.5,
                       linewidths=0, label=str(name))
        if len(classes) <= 20:
            ax.legend(markerscale=2.5, fontsize=7, ncols=1 + len(classes) // 11,
                      loc="best", framealpha=0.8)
    ax.add_collection(LineCollection([w2d[[i, j]] for i, j in pairs], colors="black",
                                     linewidths=0.6))
    ax.scatter(w2d[:, 0], w2d[:, 1], s=8, c="red", zorder=3)
    ax.set_xlabel(names[a] if names is not None else f"feature {a}")
    ax.set_ylabel(names[b] if names is not None else f"feature {b}")
    ax.set_title(title)
    return save_figure(fig, path)


def plot_som_history(history: Sequence[dict], path: str | os.PathLike,
                     title: str = "SOM training") -> Path:
    """Quantization and topographic error per epoch, side by side."""
    fig, axes = new_figure(9, 3.5, ncols=2, layout="constrained")  # the title clears the axes
    epochs = [h["epoch"] for h in history]
    for ax, key in zip(axes, ("quantization_error", "topographic_error"), strict=True):
        ax.plot(epochs, [h[key] for h in history], marker="o")
        epoch_axis(ax)
        ax.set_title(key.replace("_", " "))
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return save_figure(fig, path)
