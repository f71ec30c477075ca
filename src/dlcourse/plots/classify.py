"""Figures of the text-classification lesson: validation curves of several models, ROC curves."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from dlcourse.plots.common import new_figure, save_figure


def plot_model_curves(histories: Mapping[str, Sequence[dict]], key: str,
                      path: str | os.PathLike, title: str = "") -> Path:
    """One line per model: ``key`` (e.g. "valid_acc") of each per-epoch history by epoch."""
    fig, ax = new_figure()
    for name, history in histories.items():
        points = [(h["epoch"], h[key]) for h in history if key in h]
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="o", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_roc_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]],
                    path: str | os.PathLike, title: str = "ROC curves (test set)") -> Path:
    """ROC curves: ``{name: (fpr, tpr, auc)}``, with the chance diagonal."""
    fig, ax = new_figure(5.0, 5.0)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="chance")
    for name, (fpr, tpr, auc) in curves.items():
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    return save_figure(fig, path)
