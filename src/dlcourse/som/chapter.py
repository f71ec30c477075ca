"""Tour chapter: a hexagonal self-organizing map of scikit-learn's handwritten digits.

Trains the batch, mini-batch and online algorithms and MiniSom (same grid, start weights,
epochs and neighbourhood), tabulates time, quantization and topographic error, and draws the
U-matrix, the hit map labelled with digits, component planes of a few pixels and the curves.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

TITLE = "Self-organizing maps on handwritten digits"
PIXELS = (19, 21, 27, 36, 43, 45)  # inner pixels of the 8x8 digit images


def run(report, out_dir: Path, *, quick: bool = False, device: str = "auto") -> None:
    """Train maps on digits, write figures into ``out_dir`` and one section into ``report``.

    ``quick``: an 8x8 map on 400 digits for 3 epochs (seconds); otherwise 20x20 on all 1,797
    digits for 10 epochs (about half a minute with the MiniSom comparison on a 2-core CPU).
    """
    from sklearn.datasets import load_digits

    from dlcourse.plots import som as plots
    from dlcourse.som.compare import matching_params

    out_dir = Path(out_dir)
    digits = load_digits()
    X, y = digits.data.astype(np.float64), digits.target  # (1797, 64) pixels 0..16
    side, epochs = (8, 3) if quick else (20, 10)
    if quick:
        X, y = X[:400], y[:400]
    sigma = side / 4
    with _one_core():
        rows, som = _train_and_compare(X, y, side, epochs, sigma, device)

    hits = som.activation_response(X)
    labels = som.majority_labels(X, y)
    figures = [
        (plots.plot_umatrix(som.distance_map(), out_dir / "umatrix.png", "hexagonal"),
         "U-matrix: dark cells separate the digit clusters."),
        (plots.plot_hit_map(hits, out_dir / "hit_map.png", "hexagonal", labels,
                            title="Hit map with each unit's majority digit"),
         "Hits per unit and the digit most of its samples show."),
        (plots.plot_component_planes(som.weights_, out_dir / "component_planes.png",
                                     PIXELS, [f"pixel {p // 8},{p % 8}" for p in range(64)],
                                     "hexagonal", columns=3),
         "Component planes: the ink each unit expects at a few inner pixels."),
        (plots.plot_som_history(som.history_, out_dir / "history.png",
                                title="Batch SOM: errors per epoch"),
         "Quantization and topographic error per epoch (epoch 0 is the PCA start)."),
    ]

    report.section(TITLE)
    report.text(
        f"A {side}x{side} hexagonal map of {len(X)} digits (64 pixels each) trained for {epochs} "
        f"epochs, gaussian neighbourhood with radius {sigma:g} shrinking to 1 (inverse-time "
        "decay, MiniSom's inverse_decay_to_one; the learning rate of the per-sample rules falls "
        "from 0.5 to 0.5/101), PCA start. "
        "The batch algorithm moves every unit to the neighbourhood-weighted mean of the "
        "samples it and its neighbours win (one BLAS distance pass per epoch); the online rule "
        "is the lesson's `w += lr(t) h(t) (x - w)` one sample at a time; mini-batch sums that "
        "rule over batches. MiniSom gets the same start weights, epochs and radius schedule. "
        "Timed on one core (BLAS limited to one thread), like MiniSom's per-sample loop. "
        "QE: mean distance to the best unit; TE: share of samples whose two best units are not "
        "neighbours; accuracy: each unit labelled with its majority digit. The batch map has "
        "the lowest QE, the per-sample rules the lowest TE.")
    report.table(rows, columns=["method", "seconds", "samples/s", "QE", "TE", "accuracy"])
    for path, caption in figures:
        report.image(path, caption)

    out = "runs/som"
    full = matching_params("to_one", 5.0)  # the full-size chapter: 20x20, sigma 20 / 4
    schedule = (f"--sigma {full['sigma']:g} --sigma-end {full['sigma_end']:g} "
                f"--decay {full['decay']}")
    lr_end = f" --lr-end {full['learning_rate_end']:.4g}"  # the batch rule has no learning rate
    report.commands([
        f"# this chapter as above (writes {out}/report.html)",
        f"dlcourse tour --only som{' --quick' if quick else ''} --out {out}"
        + ("" if device == "auto" else f" --device {device}"),
        "# the three algorithms on raw pixels (full settings), then QE, TE and label agreement",
        *(f"dlcourse som train sklearn:digits --grid 20x20 --topology hex --epochs 10 "
          f"--algorithm {a} {schedule}{'' if a == 'batch' else lr_end} --no-standardize "
          f"--out {out}/{a}"
          for a in ("batch", "minibatch", "online")),
        f"dlcourse som evaluate {out}/batch",
        f"dlcourse som predict {out}/batch sklearn:digits --out {out}/batch/predictions.csv",
        f"dlcourse som plot {out}/batch",
    ], python="""
        import numpy as np
        from sklearn.datasets import load_digits

        from dlcourse.som import SOM, Grid, initial_weights
        from dlcourse.som.compare import matching_params, train_minisom

        X, y = load_digits(return_X_y=True)  # (1797, 64) pixels 0..16
        schedule = matching_params("to_one", 5.0)  # radius 5 -> 1, MiniSom's curves
        for algorithm in ("batch", "minibatch", "online"):
            som = SOM(20, 20, topology="hexagonal", epochs=10, algorithm=algorithm, seed=0,
                      **schedule).fit(X)
            print(algorithm, som.quantization_error(X), som.topographic_error(X))
        start = initial_weights(X, Grid(20, 20, "hexagonal"), "pca", np.random.default_rng(0))
        weights, seconds = train_minisom(X, start.reshape(20, 20, -1), "hexagonal", 5.0,
                                         epochs=10)
        peer = SOM.from_weights(weights, topology="hexagonal", device="cpu")
        print("MiniSom", peer.quantization_error(X), peer.topographic_error(X))
    """)


def _one_core():
    """Limit BLAS to one thread while timing (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _train_and_compare(X, y, side: int, epochs: int, sigma: float, device: str):
    """Rows of the comparison table and the trained batch map."""
    from dlcourse.errors import DlcourseError
    from dlcourse.som import SOM, Grid, initial_weights
    from dlcourse.som.compare import matching_params, train_minisom

    # the schedule MiniSom's row follows (train_minisom's default "to_one"), not SOM's
    # defaults (radius down to 0.5): the text says "shrinking to 1" and the rows compare alike
    settings = dict(topology="hexagonal", epochs=epochs, seed=0, device=device,
                    **matching_params("to_one", sigma))
    rows, maps = [], {}
    for algorithm in ("batch", "minibatch", "online"):
        # a tiny fit first: loading the compiled kernels is not part of the timing
        SOM(2, 2, algorithm=algorithm, epochs=1, device=device).fit(X[:8])
        som = SOM(side, side, algorithm=algorithm, **settings)
        start = time.perf_counter()
        som.fit(X)
        seconds = time.perf_counter() - start
        maps[algorithm] = som
        rows.append(_row(f"dlcourse {algorithm} ({som.device_})", som, X, y, seconds,
                         epochs * len(X)))
    try:
        start_weights = initial_weights(X, Grid(side, side, "hexagonal"), "pca",
                                        np.random.default_rng(0)).reshape(side, side, -1)
        weights, seconds = train_minisom(X, start_weights, "hexagonal", sigma, epochs=epochs)
        peer = SOM.from_weights(weights, topology="hexagonal", device="cpu")
        rows.append(_row("MiniSom 2.3 train (online)", peer, X, y, seconds, epochs * len(X)))
    except DlcourseError as exc:  # MiniSom is optional
        log.warning("som chapter: %s", exc)
    return rows, maps["batch"]


def _row(name: str, som, X: np.ndarray, y: np.ndarray, seconds: float, visits: int) -> dict:
    coords = som.predict(X)
    labels = som.majority_labels(X, y)
    accuracy = float(np.mean(labels[coords[:, 0], coords[:, 1]] == y))
    return {"method": name, "seconds": round(seconds, 3), "samples/s": round(visits / seconds),
            "QE": som.quantization_error(X), "TE": som.topographic_error(X),
            "accuracy": accuracy}
