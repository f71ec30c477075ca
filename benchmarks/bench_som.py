"""Benchmark dlcourse.som against MiniSom 2.3 in the same run: samples/s, QE and TE.

Same grid, data, start weights (our PCA init, handed to MiniSom), epochs (MiniSom: epochs x N
steps) and gaussian neighbourhood, with the same sigma and learning-rate curves on both sides
(``--schedule``): ``to_one`` (MiniSom's inverse_decay_to_one / inverse_decay_to_zero: sigma from
--sigma down to 1, lr down to lr/101) and ``default`` (MiniSom's default asymptotic_decay: both
down to a third of their start). Ours follows each curve exactly (``decay="inverse_time"``,
``dlcourse.som.compare.matching_params``); the batch rule has no learning rate. Quality is
measured with one implementation for every map (``SOM.quantization_error`` /
``topographic_error``, which equal MiniSom's own on the same weights: tests/som/test_som.py).
MiniSom's topographic error moves with its random sample order (on digits 20x20 about
0.008-0.012 over seeds 0-4), so compare it with --peer-seed too.

Targets (issue 8): samples/s >= 50x MiniSom ``train`` and >= 10x ``train_batch`` at equal or
lower QE and TE, on digits (20x20) and Fashion-MNIST; ``--scale``: 1M x 100 on 50x50 with
bounded memory (time and peak RSS).

    .venv/bin/python benchmarks/bench_som.py                 # digits + Fashion-MNIST subset
    .venv/bin/python benchmarks/bench_som.py --quick         # digits only
    .venv/bin/python benchmarks/bench_som.py --scale         # adds the 1M x 100 run (minutes)

``--threads`` (default 1) caps BLAS/numba threads for both libraries *before* numpy loads: on a
shared, oversubscribed CPU multithreaded BLAS can be ten times slower than one thread.
"""

from __future__ import annotations

import argparse
import os
import sys


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits only")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--sigma", type=float, default=5.0)
    parser.add_argument("--grid", type=int, default=20, help="square grid side")
    parser.add_argument("--topology", default="rectangular", choices=["rectangular", "hexagonal"])
    parser.add_argument("--fashion-samples", type=int, default=2000,
                        help="Fashion-MNIST training images used (MiniSom needs ~1.3 ms each)")
    parser.add_argument("--schedule", default="both", choices=["to_one", "default", "both"],
                        help="MiniSom decay schedule that both sides follow")
    parser.add_argument("--peer-seed", type=int, default=0, help="MiniSom's random order seed")
    parser.add_argument("--repeats", type=int, default=3, help="best of N for dlcourse timings")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--scale", action="store_true", help="add the 1M x 100, 50x50 run")
    parser.add_argument("--scale-samples", type=int, default=1_000_000)
    parser.add_argument("--scale-epochs", type=int, default=3)
    return parser.parse_args()


ARGS = parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from dlcourse.som import SOM, Grid, initial_weights  # noqa: E402
from dlcourse.som.compare import matching_params, train_minisom  # noqa: E402


def table(rows: list[dict]) -> None:
    columns = list(rows[0])
    cells = [[f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in columns]
             for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def quality(X: np.ndarray, weights: np.ndarray, topology: str) -> tuple[float, float]:
    judge = SOM.from_weights(weights, topology=topology, device="cpu")
    return judge.quantization_error(X), judge.topographic_error(X)


def ours(X: np.ndarray, algorithm: str, repeats: int, schedule: str = "to_one") -> dict:
    """Best-of-N fit time (including PCA init) and training time, wall and CPU."""
    best = {"fit_s": np.inf, "train_s": np.inf, "train_cpu": np.inf}
    for _ in range(repeats):
        som = SOM(ARGS.grid, ARGS.grid, topology=ARGS.topology, epochs=ARGS.epochs,
                  algorithm=algorithm, device="cpu", **matching_params(schedule, ARGS.sigma))
        start = time.perf_counter()
        som.fit(X)
        best["fit_s"] = min(best["fit_s"], time.perf_counter() - start)
        best["train_s"] = min(best["train_s"], som.history_[-1]["seconds"])
        best["train_cpu"] = min(best["train_cpu"], som.history_[-1]["cpu_seconds"])
    return {"som": som, **best}


def compare(name: str, X: np.ndarray) -> None:
    """Every --schedule: MiniSom's train (and train_batch, timed once) against ours, one table."""
    steps = ARGS.epochs * len(X)
    ours(X[:200], "batch", 1)  # compile/load the numba kernels outside the timings
    start_w = initial_weights(X, Grid(ARGS.grid, ARGS.grid, ARGS.topology), "pca",
                              np.random.default_rng(0)).reshape(ARGS.grid, ARGS.grid, -1)
    schedules = ["to_one", "default"] if ARGS.schedule == "both" else [ARGS.schedule]
    batch_s = None  # MiniSom train_batch seconds: the same work under any schedule
    for schedule in schedules:
        ends = matching_params(schedule, ARGS.sigma)
        print(f"\n== {name}: {len(X)} x {X.shape[1]}, {ARGS.grid}x{ARGS.grid} {ARGS.topology}, "
              f"{ARGS.epochs} epochs ({steps} sample visits), schedule {schedule}: sigma "
              f"{ARGS.sigma:g} -> {ends['sigma_end']:.4g}, lr 0.5 -> "
              f"{ends['learning_rate_end']:.4g}", flush=True)
        peers = {}
        for method in ("train", "train_batch") if batch_s is None else ("train",):
            cpu = time.process_time()
            weights, seconds = train_minisom(X, start_w, ARGS.topology, ARGS.sigma,
                                             epochs=ARGS.epochs, method=method,
                                             seed=ARGS.peer_seed, schedule=schedule)
            peers[method] = (seconds, time.process_time() - cpu,
                             *quality(X, weights, ARGS.topology))
        batch_s = peers["train_batch"][0] if "train_batch" in peers else batch_s
        train_s, train_cpu = peers["train"][:2]
        rows = [{"method": f"MiniSom.{method}", "samples/s": steps / seconds, "train_s": seconds,
                 "train_cpu_s": cpu, "fit_s": float("nan"), "QE": qe, "TE": te,
                 "x train": train_s / seconds, "x train (cpu)": train_cpu / cpu,
                 "x train_batch": batch_s / seconds}
                for method, (seconds, cpu, qe, te) in peers.items()]
        for algorithm, repeats in (("batch", ARGS.repeats), ("minibatch", ARGS.repeats),
                                   ("online", 1)):
            run = ours(X, algorithm, repeats, schedule)
            som = run["som"]
            rows.append({"method": f"dlcourse {algorithm}", "samples/s": steps / run["train_s"],
                         "train_s": run["train_s"], "train_cpu_s": run["train_cpu"],
                         "fit_s": run["fit_s"], "QE": som.quantization_error_,
                         "TE": som.topographic_error_, "x train": train_s / run["train_s"],
                         "x train (cpu)": train_cpu / run["train_cpu"],
                         "x train_batch": batch_s / run["train_s"]})
        table(rows)
        peer_qe, peer_te = peers["train"][2], peers["train"][3]
        ours_rows = [row for row in rows if row["method"].startswith("dlcourse")]
        for row in ours_rows[:2]:
            print(f"ratio vs MiniSom.train ({row['method']}, training wall time): "
                  f"{row['x train']:.1f}x, CPU time {row['x train (cpu)']:.1f}x (target 50x); "
                  f"vs train_batch {row['x train_batch']:.1f}x (target 10x); incl. PCA init: "
                  f"{train_s / row['fit_s']:.1f}x")
        for row in ours_rows:
            verdict = "ok" if row["QE"] <= peer_qe and row["TE"] <= peer_te else "WORSE"
            print(f"  {row['method']}: QE {row['QE']:.4g} vs {peer_qe:.4g}, "
                  f"TE {row['TE']:.4g} vs {peer_te:.4g}: {verdict}")


def scale() -> None:
    n, dim = ARGS.scale_samples, 100
    print(f"\n== scale: {n} x {dim} float32 (a seeded 20-cluster mixture), 50x50 grid, "
          f"{ARGS.scale_epochs} batch epochs", flush=True)
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4.0, size=(20, dim)).astype(np.float32)
    X = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):  # fill in place: no float64 temporaries of full size
        stop = min(start + 100_000, n)
        X[start:stop] = centres[rng.integers(0, 20, stop - start)]
        X[start:stop] += rng.standard_normal((stop - start, dim), dtype=np.float32)
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    som = SOM(50, 50, epochs=ARGS.scale_epochs, device="cpu")
    start = time.perf_counter()
    som.fit(X)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"fit {seconds:.1f} s ({n * ARGS.scale_epochs / seconds:,.0f} samples/s), "
          f"QE {som.quantization_error_:.4g}, TE {som.topographic_error_:.4g}; peak RSS "
          f"{rss:,.0f} MiB (data alone {X.nbytes / 2**20:,.0f} MiB, RSS after making it "
          f"{rss_data:,.0f} MiB)")


def main() -> None:
    from sklearn.datasets import load_digits

    print(f"threads {ARGS.threads}; python {sys.version.split()[0]}")
    compare("sklearn digits", load_digits().data.astype(np.float64))
    if not ARGS.quick:
        from dlcourse.data.readers import read_fashion_mnist

        images, _ = read_fashion_mnist("train")
        X = images[: ARGS.fashion_samples].reshape(-1, 28 * 28).astype(np.float64) / 255.0
        compare("Fashion-MNIST (train subset)", X)
    if ARGS.scale:
        scale()


if __name__ == "__main__":
    main()
