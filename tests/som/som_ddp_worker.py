"""Run by tests/som/test_distributed.py under torchrun: fits batch SOMs and saves this rank's
weights and history. Not a test module itself."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris

from dlcourse.som import SOM

# (name, SOM arguments): the separable gaussian, a dense neighbourhood, the torch backend
CASES = {
    "gaussian": dict(m=6, n=5, epochs=4, device="cpu"),
    "bubble_hex": dict(m=6, n=5, topology="hexagonal", neighborhood="bubble", sigma=2.0,
                       epochs=4, device="cpu"),
    "torch": dict(m=6, n=5, epochs=4, device="cpu", backend="torch"),
}


def data() -> np.ndarray:
    """Standardised iris, (150, 4): the same rows on every rank."""
    X = load_iris().data
    return (X - X.mean(0)) / X.std(0)


def main(out: Path) -> None:
    from dlcourse.engine.distributed import init_distributed, rank, shutdown_distributed

    init_distributed("cpu")
    X = data()
    arrays = {}
    for name, params in CASES.items():
        som = SOM(**params).fit(X)
        arrays[f"{name}_weights"] = som.weights_
        arrays[f"{name}_qe"] = np.array([h["quantization_error"] for h in som.history_])
        arrays[f"{name}_te"] = np.array([h["topographic_error"] for h in som.history_])
    np.savez(out / f"rank{rank()}.npz", **arrays)
    shutdown_distributed()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
