"""Figures of the text-classification lesson: ROC curves (curves by epoch: plots.common)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from dlcourse.plots.common import new_figure, place_legend, save_figure


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
    place_legend(ax, "lower right", fontsize=7)
    return save_figure(fig, path)
