"""The SOM's torch path (on ``--device``) against the numba CPU kernels: fit seconds, QE and TE.

Same data, grid, seed and config (the batch algorithm, ``SOM``'s defaults) on both paths; the
only difference is ``backend`` and ``device``. Each path first fits the same map for one epoch
(numba's compilation, CUDA's start-up) so that the timed fit is the work itself. QE and TE are those
each fit reports for its trained map, and both maps are measured again by one judge (the CPU
path) so that a difference is the training's, not the measuring's.

    PYTHONPATH=src python3 benchmarks/gpu/som_torch.py --fashion DIR --device cuda
        [--cases fashion:10000:20,fashion:10000:50,blobs:200000:40] [--epochs 10]
        [--threads N] [--json FILE]

``DIR`` holds Fashion-MNIST's ``t10k-images-idx3-ubyte.gz`` (pixels / 255, 784 columns);
``blobs`` are ``benchmarks/_som_data.py``'s seeded 20-d gaussian clusters.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fashion", type=Path, required=True, help="folder of the t10k IDX files")
    p.add_argument("--device", default="cuda", help="where the torch path runs (cuda, cpu)")
    p.add_argument("--cases", default="fashion:10000:20,fashion:10000:50,blobs:200000:40",
                   help="DATA:ROWS:SIDE, comma-separated (DATA: fashion or blobs)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads of the numba path (default: the physical cores)")
    p.add_argument("--json", type=Path, help="write the rows here")
    return p.parse_args()


ARGS = parse_args()
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: _som_data
from dlcourse.engine.threads import apply_threads  # noqa: E402

THREADS = apply_threads(ARGS.threads)  # before numba and numpy's BLAS load

import numpy as np  # noqa: E402

from dlcourse.som import SOM  # noqa: E402


def data(name: str, rows: int) -> np.ndarray:
    """(rows, D) float64: Fashion-MNIST test pixels / 255, or seeded blobs (20-d)."""
    if name == "fashion":
        from dlcourse.data.readers import read_idx

        images = read_idx(ARGS.fashion / "t10k-images-idx3-ubyte.gz")[:rows]
        return images.reshape(len(images), -1).astype(np.float64) / 255.0
    if name == "blobs":
        from _som_data import blobs

        return blobs(rows, 20).astype(np.float64)
    raise SystemExit(f"unknown data {name!r}; choose fashion or blobs")


def fit(X: np.ndarray, side: int, **where) -> tuple[SOM, float]:
    """A warm-up fit of one epoch, then the timed fit; returns (map, seconds). The warm-up is
    the same map on the same rows: the kernels a fit takes depend on the grid, the rows and the
    columns (a smaller warm-up left numba compiling inside the timed fit)."""
    SOM(side, side, epochs=1, seed=0, **where).fit(X)
    start = time.perf_counter()
    som = SOM(side, side, epochs=ARGS.epochs, seed=0, **where).fit(X)
    return som, time.perf_counter() - start


def main() -> None:
    import torch

    print(f"SOM batch algorithm, {ARGS.epochs} epochs, seed 0; numba on {THREADS} thread(s) vs "
          f"torch on {ARGS.device} (torch {torch.__version__}, {os.cpu_count()} cores)")
    print(f"{'data':>8} {'rows':>7} {'dim':>4} {'grid':>6} {'path':>12} {'fit s':>8} "
          f"{'x numba':>7} {'QE':>8} {'TE':>6} {'QE judged':>9} {'TE judged':>9}")
    rows = []
    for case in ARGS.cases.split(","):
        name, n, side = case.split(":")
        X = data(name, int(n))
        base = None
        for label, where in (("numba cpu", dict(device="cpu")),
                             (f"torch {ARGS.device}", dict(backend="torch", device=ARGS.device))):
            som, seconds = fit(X, int(side), **where)
            judge = SOM.from_weights(som.weights_, device="cpu")  # one measure for both maps
            row = {"data": name, "rows": len(X), "dim": X.shape[1], "grid": f"{side}x{side}",
                   "path": label, "backend": som.backend_, "device": som.device_,
                   "epochs": ARGS.epochs, "fit_seconds": seconds,
                   "qe": float(som.quantization_error_), "te": float(som.topographic_error_),
                   "qe_judged": judge.quantization_error(X),
                   "te_judged": judge.topographic_error(X)}
            base = base or seconds
            row["speedup_vs_numba"] = base / seconds
            rows.append(row)
            print(f"{name:>8} {len(X):>7} {X.shape[1]:>4} {row['grid']:>6} {label:>12} "
                  f"{seconds:8.2f} {row['speedup_vs_numba']:7.2f} {row['qe']:8.4f} "
                  f"{row['te']:6.4f} {row['qe_judged']:9.4f} {row['te_judged']:9.4f}",
                  flush=True)
            if ARGS.json:  # after every row: a step cut by its time limit keeps what it measured
                ARGS.json.write_text(json.dumps({"threads": THREADS, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
