"""Figures of the transfer-learning lesson: image grids (misclassified, predictions) and
learning curves.

Arrays in, PNG path out; matplotlib is imported inside each function (Agg backend).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dlcourse.errors import InputError


def _to_hwc(image: np.ndarray) -> np.ndarray:
    """uint8 (C, H, W) or (H, W) -> (H, W, 3) or (H, W) for imshow."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a.transpose(1, 2, 0)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    return a


def plot_image_grid(images: Sequence[np.ndarray], titles: Sequence[str], path: str | Path,
                    ncols: int = 8, title: str = "", colors: Sequence[str] | None = None) -> Path:
    """A grid of uint8 images (C, H, W) or (H, W), each with a small title; returns ``path``."""
    from dlcourse.plots.common import new_figure, save_figure

    n = len(images)
    if n == 0:
        raise InputError("no images to plot")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    lines = max(str(text).count("\n") + 1 for text in titles) if len(titles) else 0
    # a row: the image and its title's lines above it; constrained layout keeps a second row's
    # titles clear of the first row's images (tight_layout let them run underneath)
    fig, axes = new_figure(1.7 * ncols, (1.7 + 0.12 * lines) * nrows, nrows=nrows, ncols=ncols,
                           squeeze=False, layout="constrained")
    for ax in axes.flat[n:]:
        ax.axis("off")
    for i, (img, text) in enumerate(zip(images, titles)):
        ax = axes.flat[i]
        a = _to_hwc(img)
        ax.imshow(a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=255)
        ax.set_title(text, fontsize=7, color=colors[i] if colors else "black")
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def plot_misclassified(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray,
                       classes: Sequence[str], path: str | Path, max_images: int = 32) -> Path:
    """The first ``max_images`` images whose prediction is wrong, titled "true -> predicted"."""
    wrong = np.flatnonzero(np.asarray(labels) != np.asarray(predictions))[:max_images]
    if len(wrong) == 0:
        raise InputError("no misclassified images: nothing to plot")
    titles = [f"{classes[labels[i]]}\n-> {classes[predictions[i]]}" for i in wrong]
    return plot_image_grid([images[i] for i in wrong], titles, path,
                           title=f"misclassified ({len(wrong)} shown)")


def plot_predictions(images: Sequence[np.ndarray],
                     predictions: Sequence[Sequence[tuple[str, float]]],
                     path: str | Path, truths: Sequence[str] | None = None, top: int = 3,
                     title: str | None = None) -> Path:
    """Images with their top-``top`` (label, probability). With ``truths``, green where the
    top label is right and red, with a last line "true: LABEL", where it is wrong; black
    without them. ``title`` defaults to "predictions (top-N)", saying what the colours mean."""
    titles, colors = prediction_titles(predictions, truths, top)
    key = "" if truths is None else "; green: right, red: wrong"
    return plot_image_grid(images, titles, path, ncols=min(6, len(images)), colors=colors,
                           title=f"predictions (top-{top}{key})" if title is None else title)


def prediction_titles(predictions: Sequence[Sequence[tuple[str, float]]],
                      truths: Sequence[str] | None = None,
                      top: int = 3) -> tuple[list[str], list[str]]:
    """The titles and colours :func:`plot_predictions` gives its images."""
    titles, colors = [], []
    for i, pred in enumerate(predictions):
        lines = [f"{lab} {p:.2f}" for lab, p in list(pred)[:top]]
        if truths is None:
            colors.append("black")
        elif pred[0][0] == truths[i]:
            colors.append("green")
        else:
            colors.append("red")
            lines.append(f"true: {truths[i]}")
        titles.append("\n".join(lines))
    return titles, colors


def plot_learning_curves(rows: Sequence[dict], path: str | Path, x: str = "n_train",
                         y: str = "accuracy", group: str = "method", title: str = "") -> Path:
    """Accuracy against training-set size (log axis), one line per ``group`` value."""
    from dlcourse.plots.common import new_figure, place_legend, save_figure

    fig, ax = new_figure(5.5, 3.8)
    for name in dict.fromkeys(r[group] for r in rows):
        pts = sorted((r[x], r[y]) for r in rows if r[group] == name)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=str(name))
    ax.set_xscale("log")
    ax.set_xlabel("training images")
    ax.set_ylabel("test accuracy")
    ax.grid(True, alpha=0.3)
    place_legend(ax, fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
