"""Vision figures: grids of misclassified images and predictions, learning curves."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.plots.vision import (
    plot_learning_curves,
    plot_misclassified,
    plot_predictions,
    prediction_titles,
)


def test_figures_are_written(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 1, 12, 12), dtype=np.uint8)
    labels, preds = np.array([0, 1, 2, 0, 1, 2]), np.array([0, 2, 2, 1, 1, 0])
    p = plot_misclassified(images, labels, preds, ["a", "b", "c"], tmp_path / "wrong.png")
    q = plot_predictions(list(images[:2]), [[("a", 0.9), ("b", 0.1)], [("c", 0.6), ("a", 0.4)]],
                         tmp_path / "pred.png", truths=["a", "b"])
    rows = [{"method": m, "n_train": n, "accuracy": a} for m, n, a in
            [("pretrained", 100, 0.6), ("pretrained", 1000, 0.8), ("scratch", 100, 0.2),
             ("scratch", 1000, 0.6)]]
    r = plot_learning_curves(rows, tmp_path / "curve.png")
    for path in (p, q, r):
        assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 2000


def test_predictions_name_the_true_class_where_they_are_wrong():
    # a wrong guess was red with no word of the right class, and guesses without truths
    # (ImageNet's classes for a pullover) were green, the colour of "right"
    preds = [[("a", 0.9), ("b", 0.1)], [("c", 0.6), ("a", 0.4)]]
    assert prediction_titles(preds, ["a", "b"], top=2) == (
        ["a 0.90\nb 0.10", "c 0.60\na 0.40\ntrue: b"], ["green", "red"])
    assert prediction_titles(preds, top=1) == (["a 0.90", "c 0.60"], ["black", "black"])


def test_nothing_misclassified_is_reported(tmp_path):
    with pytest.raises(ValueError, match="no misclassified"):
        plot_misclassified(np.zeros((2, 8, 8), np.uint8), np.array([0, 1]), np.array([0, 1]),
                           ["a", "b"], tmp_path / "x.png")
