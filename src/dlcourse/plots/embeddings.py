"""Figures of the embeddings lesson: a labelled 2-D map of word vectors (PCA or t-SNE)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlcourse.errors import InputError, check_choice
from dlcourse.plots.common import glyphs_noted, new_figure, save_figure

PROJECTIONS = ("pca", "tsne")


def project_2d(vectors: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """Project (n, D) vectors to (n, 2): PCA by SVD, or t-SNE (needs scikit-learn).

    Args:
        vectors: (n, D) array, n >= 2.
        method: "pca" or "tsne".
        seed: t-SNE's random state.

    Returns:
        (n, 2) float64 coordinates.

    Raises:
        ValueError: an unknown method, fewer than 2 vectors, or t-SNE without scikit-learn.
    """
    check_choice("projection", method, PROJECTIONS)
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise InputError(f"need at least 2 vectors of shape (n, D) to map, got {x.shape}")
    if method == "tsne":
        try:
            from sklearn.manifold import TSNE
        except ImportError:
            raise InputError("t-SNE needs scikit-learn (pip install scikit-learn); or use "
                             "method='pca'") from None
        # t-SNE needs perplexity < n: two words get 1
        perplexity = float(min(30, max(2, (len(x) - 1) // 3), len(x) - 1))
        return TSNE(n_components=2, perplexity=perplexity, init="pca",
                    random_state=seed).fit_transform(x)
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)  # vt (k, D): principal directions
    out = x @ vt[:2].T  # (n, 2)
    if out.shape[1] < 2:
        out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    return out


#: the most labels moved off each other: adjustText's cost grows with the square of their
#: number (150 labels: about 2 s; 500: 4 minutes and 10 GB; 1,000: 119 GiB asked for), and so
#: many labels cover a figure anyway; past this they stay on their points
SPREAD_MAX = 200


def plot_word_map(words: Sequence[str], vectors: np.ndarray, path: str | os.PathLike,
                  groups: Sequence[int] | None = None, method: str = "pca",
                  title: str = "", seed: int = 0) -> Path:
    """Scatter ``words`` at their 2-D projection with labels; ``groups`` colours the points.
    Up to :data:`SPREAD_MAX` labels are moved off each other and off the points.

    Words whose group's first member is the word itself (the probes) are drawn in bold.

    Args:
        words: the labels, one per row of ``vectors``.
        vectors: (n, D) word vectors.
        path: the figure file (PNG, or PDF/SVG by its suffix), written atomically.
        groups: a group id per word (e.g. from ``words_and_neighbors``); None: one group.
        method: the projection, "pca" or "tsne".
        title: the figure's title (default: the projection's name).
        seed: t-SNE's random state.

    Returns:
        the figure's path.

    Raises:
        ValueError: words and vectors of different lengths, or see :func:`project_2d`.

    Example:
        >>> plot_word_map(["a", "b", "c"], np.eye(3), "map.png")  # doctest: +SKIP
    """
    words = list(words)
    if len(words) != len(vectors):
        raise InputError(f"{len(words)} words but {len(vectors)} vectors")
    xy = project_2d(vectors, method, seed)  # (n, 2)
    groups = list(groups) if groups is not None else [0] * len(words)
    fig, ax = new_figure(8, 6.5)
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10")
    first: dict[int, int] = {}
    for i, g in enumerate(groups):
        first.setdefault(g, i)
    labels = []
    for i, (word, (x, y), g) in enumerate(zip(words, xy, groups)):
        colour = cmap(g % 10)
        probe = first[g] == i
        ax.scatter(x, y, color=colour, s=40 if probe else 14)
        labels.append(ax.text(x, y, word, fontsize=9, color=colour, ha="center", va="center",
                              fontweight="bold" if probe else "normal"))
    ax.set_title(title or f"word vectors ({method.upper()})")
    ax.set_xticks([])
    ax.set_yticks([])
    with glyphs_noted():
        _fit_labels(ax, labels)  # room for the labels where they start
        if len(labels) <= SPREAD_MAX:
            _spread_labels(ax, labels, xy)
            _fit_labels(ax, labels)  # and where adjustText left them: it may push one past
    return save_figure(fig, path)


def _spread_labels(ax, labels: list, xy: np.ndarray) -> None:
    """Move the labels off each other and off the points (adjustText), a thin line leading
    from a moved label to its point: the near words of a tight cluster were printed over
    each other."""
    from adjustText import adjust_text

    # each label starts centred on its point and is pushed off it; expand: the room kept
    # around a label (x, y), so that a dot seldom touches it
    adjust_text(labels, x=xy[:, 0], y=xy[:, 1], ax=ax, expand=(1.5, 2.0),
                arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.5})


def _fit_labels(ax, labels: list, rounds: int = 50) -> None:
    """Widen the axes' limits until every label lies inside the frame: matplotlib's autoscale
    sees the points only, so a word at the right edge ran past it. A label's size is fixed in
    pixels, so a wider range makes it longer in data units: the limits are found by iterating
    on the labels' pixel offsets from their points (converges while each label is narrower
    than the frame)."""
    # the limits first: reading them applies the pending autoscale, which transData needs
    low = np.array([ax.get_xlim()[0], ax.get_ylim()[0]])  # (2,)
    high = np.array([ax.get_xlim()[1], ax.get_ylim()[1]])
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    size = np.array([frame.width, frame.height])  # (2,) pixels
    anchors = np.array([t.get_position() for t in labels], dtype=np.float64)  # (n, 2) data
    at = ax.transData.transform(anchors)  # (n, 2) pixels
    boxes = np.array([t.get_window_extent(renderer).get_points() for t in labels])  # (n, 2, 2)
    low_px, high_px = boxes[:, 0] - at, boxes[:, 1] - at  # (n, 2) offsets from each point
    for _ in range(rounds):
        scale = (high - low) / size  # (2,) data units per pixel
        new_low = np.minimum(low, (anchors + low_px * scale).min(axis=0))
        new_high = np.maximum(high, (anchors + high_px * scale).max(axis=0))
        if np.allclose(new_low, low) and np.allclose(new_high, high):
            break
        low, high = new_low, new_high
    pad = 0.01 * (high - low)  # (2,) a hair of room beyond the outermost label
    ax.set_xlim(low[0] - pad[0], high[0] + pad[0])
    ax.set_ylim(low[1] - pad[1], high[1] + pad[1])
