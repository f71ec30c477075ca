"""Language-model figures (loss curves use ``plots.common.plot_curves``): perplexity bars."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from dlcourse.plots.common import new_figure, save_figure


def plot_perplexities(
    names: Sequence[str], values: Sequence[float], path: str | os.PathLike, title: str = ""
) -> Path:
    """Horizontal bars of test perplexity per model, lowest (best) at the top."""
    order = sorted(range(len(names)), key=lambda i: values[i], reverse=True)
    fig, ax = new_figure(6.0, 0.6 * len(names) + 1.2)
    bars = ax.barh([names[i] for i in order], [values[i] for i in order], color="C0")
    ax.bar_label(bars, fmt="%.1f", padding=3)
    ax.set_xlabel("test perplexity (lower is better)")
    ax.set_title(title)
    ax.margins(x=0.15)
    return save_figure(fig, path)
