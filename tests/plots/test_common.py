"""Shared figure helpers: epoch axes read in whole epochs."""

from __future__ import annotations

import pytest

from dlcourse.plots.common import epoch_axis, new_figure


@pytest.mark.parametrize("epochs", [[1], [1, 2], list(range(1, 40))])
def test_epoch_ticks_are_whole_epochs(epochs):
    # one or two epochs (the lessons' quick mode) were labelled 0.96, 1.04 or 1.5
    fig, ax = new_figure()
    ax.plot(epochs, [1.0 / e for e in epochs], marker="o")
    epoch_axis(ax)
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)
    assert ax.get_xlabel() == "epoch"
    assert len(ticks) <= 12  # a readable axis, not one tick an epoch


def test_word_map_labels_of_a_tight_cluster_do_not_cover_each_other():
    # near words of one cluster printed over each other ("mississippi", "lake", "colorado")
    from dlcourse.plots.embeddings import _spread_labels

    fig, ax = new_figure(8, 6.5)
    points = [(0.0, 0.0), (0.02, 0.0), (0.0, 0.02), (0.02, 0.02), (5.0, 5.0)]
    ax.scatter(*zip(*points))
    labels = [ax.annotate(word, xy, xytext=(3, 3), textcoords="offset points", fontsize=9)
              for word, xy in zip(["mississippi", "lake", "colorado", "tributary", "far"],
                                  points)]
    renderer = fig.canvas.get_renderer()

    def overlaps():
        boxes = [t.get_window_extent(renderer) for t in labels]
        return sum(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])

    assert overlaps() >= 3
    _spread_labels(ax, labels)
    assert overlaps() == 0
    assert labels[0].xyann == (3, 3) and labels[-1].xyann == (3, 3)  # free ones stay put


@pytest.mark.parametrize("names, below", [
    (["a", "b"], False),
    (["lesson RNN (Embedding -> RNN -> Linear)", "Transformer encoder, GloVe 50d",
      "Kim's CNN + n-gram score, GloVe 50d + MiniLM words (the defaults)"], True),
])
def test_a_wide_legend_goes_below_the_curves(monkeypatch, tmp_path, names, below):
    # three long model names filled the axes' lower half and hid the RNN's points
    from dlcourse.plots import common

    kept = {}
    monkeypatch.setattr(common, "save_figure", lambda fig, path: kept.setdefault("fig", fig))
    histories = {name: [{"epoch": e, "acc": 0.5 + 0.01 * e} for e in (1, 2, 3)]
                 for name in names}
    common.plot_histories(histories, ["acc"], tmp_path / "x.png")
    fig = kept["fig"]
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    frame = ax.get_window_extent(renderer)
    assert bool(legend.y1 <= frame.y0) == below
    assert below or frame.contains(legend.x0, legend.y0)
