"""Figures of the embeddings lesson: a labelled 2-D map of word vectors (PCA or t-SNE)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlcourse.errors import InputError
from dlcourse.plots.common import new_figure, save_figure

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
    if method not in PROJECTIONS:
        raise InputError(f"unknown projection {method!r}; choose one of {', '.join(PROJECTIONS)}")
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise InputError(f"need at least 2 vectors of shape (n, D) to map, got {x.shape}")
    if method == "tsne":
        try:
            from sklearn.manifold import TSNE
        except ImportError:
            raise InputError("t-SNE needs scikit-learn (pip install scikit-learn); or use "
                             "method='pca'") from None
        perplexity = float(min(30, max(2, (len(x) - 1) // 3)))
        return TSNE(n_components=2, perplexity=perplexity, init="pca",
                    random_state=seed).fit_transform(x)
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)  # vt (k, D): principal directions
    out = x @ vt[:2].T  # (n, 2)
    if out.shape[1] < 2:
        out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    return out


def plot_word_map(words: Sequence[str], vectors: np.ndarray, path: str | os.PathLike,
                  groups: Sequence[int] | None = None, method: str = "pca",
                  title: str = "", seed: int = 0) -> Path:
    """Scatter ``words`` at their 2-D projection with labels; ``groups`` colours the points.

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
    for i, (word, (x, y), g) in enumerate(zip(words, xy, groups)):
        colour = cmap(g % 10)
        probe = first[g] == i
        ax.scatter(x, y, color=colour, s=40 if probe else 14)
        ax.annotate(word, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=9,
                    color=colour, fontweight="bold" if probe else "normal")
    ax.set_title(title or f"word vectors ({method.upper()})")
    ax.set_xticks([])
    ax.set_yticks([])
    return save_figure(fig, path)
