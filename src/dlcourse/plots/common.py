"""Figures shared by several lessons: training curves and confusion matrices."""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from dlcourse.engine.files import atomic_path

log = logging.getLogger(__name__)
# matplotlib's words: "Glyph 2361 (\N{DEVANAGARI LETTER HA}) missing from font(s) DejaVu Sans."
_GLYPH = re.compile(r"Glyph \d+ \(\\N\{(.*?)\}\) missing from font")
_NOTED_GLYPHS: set[str] = set()


def new_figure(width: float = 6.0, height: float = 4.0, **kwargs):
    """A matplotlib (figure, axes) pair on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), **kwargs)


@contextmanager
def glyphs_noted() -> Iterator[None]:
    """A block that draws text: matplotlib's warning per character its font lacks (a
    Devanagari word in a word map, each with matplotlib's source line) becomes one log line
    naming the characters; other warnings pass through unchanged."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    missing = []
    for w in caught:
        found = _GLYPH.search(str(w.message))
        if found is None:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        elif found.group(1) not in _NOTED_GLYPHS:  # once per character, as warnings go
            _NOTED_GLYPHS.add(found.group(1))
            missing.append(found.group(1).lower())
    if missing:
        log.warning("the figures' font has no %s: labels with it show boxes",
                    ", ".join(missing))


def epoch_axis(ax) -> None:
    """Label ``ax``'s x axis "epoch" with whole-number ticks, once its lines are drawn (one or
    two epochs got ticks such as 0.96, 1.04 or 1.5)."""
    import math

    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    low, high = ax.get_xlim()
    whole = list(range(math.ceil(low), math.floor(high) + 1))
    if len(whole) <= 1:  # one epoch: the locator would fall back to fractions
        ax.set_xticks(whole)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def place_legend(ax, loc: str = "best", **kwargs) -> None:
    """``ax.legend(loc=loc, **kwargs)``, or below the axes when its labels are long: a wide
    legend inside covered the curves (the classify chapter's model names)."""
    labels = ax.get_legend_handles_labels()[1]
    if sum(len(label) for label in labels) > 80:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False, **kwargs)
    else:
        ax.legend(loc=loc, **kwargs)


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Save ``fig`` as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_path(path) as tmp, glyphs_noted():
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_curves(
    history: Sequence[dict],
    keys: Sequence[str],
    path: str | os.PathLike,
    title: str = "",
    ylabel: str = "",
    ax=None,
) -> Path:
    """Plot ``keys`` of a per-epoch history (list of dicts with "epoch") against the epoch."""
    return plot_histories({"": history}, keys, path, title=title, ylabel=ylabel, ax=ax)


def plot_histories(
    histories: Mapping[str, Sequence[dict]],
    keys: Sequence[str],
    path: str | os.PathLike,
    title: str = "",
    ylabel: str = "",
    ax=None,
) -> Path:
    """One line per run and key: ``{run name: per-epoch history}`` against the epoch.

    Lines are labelled "<run> <key>" (just the key for a run named "", just the run for a
    single key), so several models' curves share one figure.
    """
    fig, ax = new_figure() if ax is None else (ax.figure, ax)
    for name, history in histories.items():
        for key in keys:
            points = [(h.get("epoch", i + 1), h[key]) for i, h in enumerate(history) if key in h]
            if points:
                xs, ys = zip(*points)
                label = key if not name else name if len(keys) == 1 else f"{name} {key}"
                ax.plot(xs, ys, marker="o", label=label)
    epoch_axis(ax)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    place_legend(ax)
    return save_figure(fig, path)


def plot_confusion_matrix(
    cm: np.ndarray,
    labels: Sequence[str],
    path: str | os.PathLike,
    title: str = "Confusion matrix",
    normalize: bool = False,
) -> Path:
    """Draw a confusion matrix (rows: true class, columns: predicted) with counts in the cells."""
    cm = np.asarray(cm, dtype=float)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    size = max(4.0, 0.5 * len(labels) + 2)
    fig, ax = new_figure(size, size * 0.85)
    image = ax.imshow(shown, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = shown.max() / 2 if shown.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="white" if shown[i, j] > threshold else "black",
            )
    return save_figure(fig, path)
