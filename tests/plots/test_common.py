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


def test_word_map_labels_cover_neither_each_other_nor_the_points(monkeypatch, tmp_path):
    # near words of one cluster printed over each other ("white", "pink", "orange", "red")
    import numpy as np

    from dlcourse.plots import embeddings

    kept = {}
    monkeypatch.setattr(embeddings, "save_figure", lambda fig, path: kept.setdefault("fig", fig))
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    vectors = np.concatenate([c + 0.15 * rng.standard_normal((6, 2)) for c in centres])
    words = [f"{w}{k}" for k in range(3) for w in ("white", "pink", "orange", "red", "ab",
                                                   "mississippi")]
    embeddings.plot_word_map(words, vectors, tmp_path / "map.png",
                             groups=[k for k in range(3) for _ in range(6)])
    fig = kept["fig"]
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_text() in words]
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert len(boxes) == len(words)

    def overlap(a, b, px=2.0):  # more than a hair: a text's box has blank room around glyphs
        return (min(a.x1, b.x1) - max(a.x0, b.x0) > px
                and min(a.y1, b.y1) - max(a.y0, b.y0) > px)

    assert not [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:] if overlap(a, b)]
    at = dict(zip(words, ax.transData.transform(embeddings.project_2d(vectors))))  # pixels
    assert not [t.get_text() for t, box in zip(labels, boxes) if box.contains(*at[t.get_text()])]
    frame = ax.get_window_extent(renderer)
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1
               for b in boxes)  # every label inside the frame


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


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_word_map_labels_stay_inside_the_frame(monkeypatch, tmp_path, seed):
    # the tour's "river", moved left by the label placement, was cut by the frame
    import numpy as np

    from dlcourse.plots import embeddings

    kept = {}
    monkeypatch.setattr(embeddings, "save_figure", lambda fig, path: kept.setdefault("fig", fig))
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-10, 10, (5, 2))
    vectors = np.concatenate([c + 0.8 * rng.standard_normal((7, 2)) for c in centres])
    words = [("river", "southeastward", "missouri", "tributary", "nebraska", "lake",
              "flows")[i % 7] + str(i) for i in range(len(vectors))]
    embeddings.plot_word_map(words, vectors, tmp_path / "map.png",
                             groups=[i // 7 for i in range(len(vectors))])
    ax = kept["fig"].axes[0]
    renderer = kept["fig"].canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    boxes = {t.get_text(): t.get_window_extent(renderer) for t in ax.texts
             if t.get_text() in words}
    assert len(boxes) == len(words)
    assert [w for w, b in boxes.items() if not (frame.x0 <= b.x0 and b.x1 <= frame.x1
                                                and frame.y0 <= b.y0 and b.y1 <= frame.y1)] == []
