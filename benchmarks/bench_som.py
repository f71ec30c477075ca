"""Benchmark dlcourse.som's batch SOM against MiniSom 2.3 in the same run: time, QE and TE.

Modes (any combination; default: the in-process comparison):

* in-process (``--sets``): same data, grid, start weights (our PCA init, handed to MiniSom),
  epochs (MiniSom: epochs x N random-order steps) and gaussian neighbourhood, with the same
  sigma and learning-rate curves on both sides (``--schedule``): ``to_one`` (MiniSom's
  inverse_decay_to_one / inverse_decay_to_zero: sigma down to 1, lr to lr/101) and ``default``
  (MiniSom's asymptotic_decay: both down to a third). Paired runs, interleaved, MiniSom's random
  order seeded 0..R-1; medians and ranges. Times are CPU seconds of this process (the machine is
  shared; wall seconds are printed too). "x train": MiniSom's ``train`` against our whole fit
  after the PCA start (every epoch plus the trained map's exact QE and TE); "x train+err" adds
  MiniSom's own ``quantization_error`` and ``topographic_error`` calls, so that both sides
  deliver a map and its two errors. Quality of every map is measured by one implementation.
* ``--command``: whole commands on 11,380 x 30 rows (breast cancer, standardised, 20 copies),
  20x20, 20 epochs: ``dlcourse som train`` as a user types it (its config's defaults; it
  imports no torch) against a MiniSom script (load, standardise, ``random_weights_init``,
  ``train_batch``, save). MiniSom 2.3.5's ``pca_weights_init`` eigendecomposes ``cov(data)``,
  an N x N matrix, which takes minutes on these rows, so its script starts from samples.
* ``--defaults``: ``SOM(10, 10)`` with its defaults against MiniSom's usual settings on the
  same 10x10 grid and start weights, equal sample visits: its defaults (sigma 1, lr 0.5,
  asymptotic decay) and its BasicUsage notebook (sigma 1.5); then the same on held-out data
  and grid sizes (6x6, 15x15) that the defaults were not chosen on.
* ``--scaling``: time and peak memory against map size and samples (one process per run).

    .venv/bin/python benchmarks/bench_som.py --quick                 # digits, both schedules
    .venv/bin/python benchmarks/bench_som.py                         # every data set
    .venv/bin/python benchmarks/bench_som.py --sets none --command --defaults --scaling

``--threads`` (default 1) caps BLAS/numba threads for both libraries before numpy loads;
``--threads default`` leaves both at their default: ours the physical cores (what the CLI
applies), MiniSom's per-sample rule runs on one core whatever the setting.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TUNED = ("digits", "fashion")  # schedules and code were tuned looking at these two
ALL_SETS = ("digits", "fashion", "cancer20", "mnist", "blobs", "wine")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits only, 3 pairs")
    parser.add_argument("--sets", default=",".join(ALL_SETS),
                        help=f"comma-separated: {', '.join(ALL_SETS)}, or none")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--schedule", default="both", choices=["to_one", "default", "both"])
    parser.add_argument("--repeats", type=int, default=3, help="paired runs per comparison")
    parser.add_argument("--threads", default="1", help="a number, or default")
    parser.add_argument("--command", action="store_true", help="whole-command timings")
    parser.add_argument("--defaults", action="store_true", help="SOM() vs MiniSom's usual")
    parser.add_argument("--scaling", action="store_true", help="time/memory vs size")
    parser.add_argument("--peer-limit", type=float, default=120.0,
                        help="--scaling: skip MiniSom runs estimated above this many seconds")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.sets = "digits"
    return args


ARGS = parse_args()
if ARGS.threads == "default":
    from dlcourse.engine.threads import apply_threads

    ARGS.threads = str(apply_threads(None))  # the physical cores, as the CLI does
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import resource  # noqa: E402

import numpy as np  # noqa: E402

from _som_data import blobs, cancer20, dataset, held_out_sets, usual_sets  # noqa: E402
from dlcourse.som import SOM, Grid, initial_weights  # noqa: E402
from dlcourse.som.compare import (  # noqa: E402
    from_minisom_layout,
    matching_params,
    to_minisom_layout,
    train_minisom,
)


# ---------------------------------------------------------------------------- helpers
def table(rows: list[dict]) -> None:
    columns = list(rows[0])
    cells = [[f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c]) for c in columns]
             for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)), flush=True)


def spread(values: list[float]) -> str:
    """Median and range of paired ratios, e.g. ``97x (91-104)``."""
    return f"{np.median(values):.0f}x ({min(values):.0f}-{max(values):.0f})"


def quality(X: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    judge = SOM.from_weights(weights, device="cpu")
    return judge.quantization_error(X), judge.topographic_error(X)


# ---------------------------------------------------------------------------- in-process
def peer_run(X, start, sigma, schedule, method, seed):
    """MiniSom from ``start``: (weights, train cpu s, train wall s, errors cpu s)."""
    cpu = time.process_time()
    weights, wall = train_minisom(X, start, "rectangular", sigma, epochs=ARGS.epochs,
                                  method=method, seed=seed, schedule=schedule)
    train_cpu = time.process_time() - cpu
    from minisom import MiniSom

    peer = MiniSom(start.shape[1], start.shape[0], X.shape[1])
    peer._weights = to_minisom_layout(weights, "rectangular")
    cpu = time.process_time()
    peer.quantization_error(X)
    peer.topographic_error(X)
    return weights, train_cpu, wall, time.process_time() - cpu


def compare(name: str) -> None:
    X, side = dataset(name)
    sigma = side / 4
    SOM(side, side, epochs=2, device="cpu").fit(X[:200])  # load the numba kernels first
    start = initial_weights(X, Grid(side, side), "pca",
                            np.random.default_rng(0)).reshape(side, side, -1)
    schedules = ["to_one", "default"] if ARGS.schedule == "both" else [ARGS.schedule]
    tuned = "tuned on" if name in TUNED else "not tuned on"
    batch_cpu = None
    for schedule in schedules:
        params = matching_params(schedule, sigma)
        print(f"\n== {name} ({tuned}): {len(X)} x {X.shape[1]}, {side}x{side}, {ARGS.epochs} "
              f"epochs, schedule {schedule}: sigma {sigma:g} -> {params['sigma_end']:.4g}, "
              f"lr 0.5 -> {params['learning_rate_end']:.4g}", flush=True)
        peers, ours = [], []
        for seed in range(ARGS.repeats):
            weights, cpu, wall, err_cpu = peer_run(X, start, sigma, schedule, "train", seed)
            peers.append({"cpu": cpu, "wall": wall, "err": err_cpu, "q": quality(X, weights)})
            som = SOM(side, side, epochs=ARGS.epochs, device="cpu", **params)
            begin = time.process_time()
            som.fit(X)
            ours.append({"cpu": som.history_[-1]["cpu_seconds"],
                         "wall": som.history_[-1]["seconds"],
                         "fit": time.process_time() - begin,
                         "q": (som.quantization_error_, som.topographic_error_)})
        if batch_cpu is None:  # sequential order: the same work under either schedule
            weights, batch_cpu, batch_wall, _ = peer_run(X, start, sigma, schedule,
                                                         "train_batch", 0)
            qe, te = quality(X, weights)
            print(f"MiniSom.train_batch: {batch_cpu:.3f} s CPU, {batch_wall:.3f} s wall, "
                  f"QE/TE {qe:.4g}/{te:.4g}")
        q_peer = np.array([p["q"] for p in peers])
        rows = [
            {"method": "MiniSom.train", "cpu_s": float(np.median([p["cpu"] for p in peers])),
             "wall_s": float(np.median([p["wall"] for p in peers])),
             "QE": float(np.median(q_peer[:, 0])), "TE": float(np.median(q_peer[:, 1])),
             "TE range": f"{q_peer[:, 1].min():.4f}-{q_peer[:, 1].max():.4f}"},
            {"method": "dlcourse batch", "cpu_s": float(np.median([o["cpu"] for o in ours])),
             "wall_s": float(np.median([o["wall"] for o in ours])), "QE": ours[0]["q"][0],
             "TE": ours[0]["q"][1], "TE range": "(deterministic)"},
        ]
        table(rows)
        x_train = [p["cpu"] / o["cpu"] for p, o in zip(peers, ours, strict=True)]
        x_err = [(p["cpu"] + p["err"]) / o["cpu"] for p, o in zip(peers, ours, strict=True)]
        x_wall = [p["wall"] / o["wall"] for p, o in zip(peers, ours, strict=True)]
        x_fit = [p["cpu"] / o["fit"] for p, o in zip(peers, ours, strict=True)]
        print(f"ratio vs MiniSom.train, CPU: x train {spread(x_train)}, x train+err "
              f"{spread(x_err)}, wall x train {spread(x_wall)}, incl. our PCA start "
              f"{spread(x_fit)}; vs train_batch {batch_cpu / rows[1]['cpu_s']:.0f}x (target 100x)")
        qe, te = rows[1]["QE"], rows[1]["TE"]
        verdict = "ok" if qe <= rows[0]["QE"] and te <= rows[0]["TE"] else "WORSE"
        print(f"  quality vs MiniSom's median: QE {qe:.4g} vs {rows[0]['QE']:.4g}, TE {te:.4g} "
              f"vs {rows[0]['TE']:.4g}: {verdict}", flush=True)


# ---------------------------------------------------------------------------- commands
MINISOM = """
import sys
import numpy as np
from minisom import MiniSom
X = np.load(sys.argv[1])
std = X.std(axis=0)
X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
som = MiniSom(20, 20, X.shape[1], sigma=5.0, learning_rate=0.5, random_seed=0)
som.random_weights_init(X)
som.train_batch(X, 20 * len(X))
np.save(sys.argv[2], som.get_weights())
"""


def timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def commands() -> None:
    X = cancer20()
    defaults = SOM(20, 20).config
    print(f"\n== whole commands: {len(X)} x {X.shape[1]} rows (breast cancer standardised, 20 "
          f"copies), 20x20, 20 epochs; ours: `dlcourse som train` with its defaults (sigma "
          f"{defaults.sigma_start():g} -> {defaults.sigma_end:g}, {defaults.decay}, PCA start; no "
          "torch); MiniSom: sigma 5, lr 0.5, its default decay, random_weights_init (its "
          "pca_weights_init decomposes an N x N matrix: minutes here), train_batch", flush=True)
    env = {**os.environ, "DLCOURSE_THREADS": str(ARGS.threads)}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "x.npy"
        np.save(data, X)
        # the same command with MiniSom's sigma curve (asymptotic_decay: 5 -> 5/3), for QE/TE
        matched = matching_params("default", 5.0)
        cli = [sys.executable, "-m", "dlcourse", "som", "train", str(data), "--grid", "20x20",
               "--epochs", "20", "--device", "cpu"]
        commands = {
            "cli": [*cli, "--out", f"{tmp}/cli"],
            "cli_matched": [*cli, "--sigma", "5", "--sigma-end", f"{matched['sigma_end']:.6f}",
                            "--decay", matched["decay"], "--out", f"{tmp}/cli_matched"],
            "minisom": [sys.executable, "-c", MINISOM, str(data), f"{tmp}/minisom.npy"]}
        runs: dict[str, list[tuple[float, float]]] = {key: [] for key in commands}
        timed(commands["cli"], env)  # the numba cache is warm for every timed run
        for _ in range(ARGS.repeats):  # interleaved, paired by repeat
            for key, command in commands.items():
                runs[key].append(timed(command, env))
        found = {key: json.loads(Path(f"{tmp}/{key}/metrics.json").read_text())
                 for key in ("cli", "cli_matched")}
        theirs = quality(X, from_minisom_layout(np.load(f"{tmp}/minisom.npy"), "rectangular"))
    rows = []
    for key, label in (("cli", "dlcourse som train (defaults)"),
                       ("cli_matched", "dlcourse som train, MiniSom's sigma 5 -> 5/3"),
                       ("minisom", "MiniSom script (train_batch)")):
        walls, cpus = zip(*runs[key], strict=True)
        qe, te = theirs if key == "minisom" else (found[key]["quantization_error"],
                                                  found[key]["topographic_error"])
        rows.append({"command": label, "wall_s": float(np.median(walls)),
                     "wall range": f"{min(walls):.2f}-{max(walls):.2f}",
                     "cpu_s": float(np.median(cpus)), "QE": qe, "TE": te})
    table(rows)
    for key in ("cli", "cli_matched"):
        wall = [p[0] / o[0] for p, o in zip(runs["minisom"], runs[key], strict=True)]
        cpu = [p[1] / o[1] for p, o in zip(runs["minisom"], runs[key], strict=True)]
        print(f"ratio vs MiniSom script ({key}): wall {spread(wall)}, CPU {spread(cpu)} "
              "(target 10x)")


# ---------------------------------------------------------------------------- defaults
def defaults() -> None:
    from minisom import MiniSom

    som = SOM(10, 10)
    print(f"\n== SOM(side, side) defaults (batch, {som.epochs} epochs, sigma side / 2 -> "
          f"{som.sigma_end}, {som.decay}, PCA start) vs MiniSom(side, side, d, sigma=S, "
          "learning_rate=0.5) with its default asymptotic decay, our PCA start, "
          f"train(X, {som.epochs} * N, random_order=True); MiniSom median of seeds 0-2; the "
          "defaults were chosen on the 10x10 rows marked 'usual', the others are held out")
    sets = {name: (X, 10, "usual") for name, X in usual_sets().items()}
    sets.update({name: (X, side, "held out") for name, (X, side) in held_out_sets().items()})
    rows = []
    for name, (X, side, kind) in sets.items():
        ours = SOM(side, side, device="cpu").fit(X)
        start = initial_weights(X, Grid(side, side), "pca", np.random.default_rng(0))
        row = {"data": name, "grid": f"{side}x{side}", "set": kind,
               "ours QE": ours.quantization_error_, "ours TE": ours.topographic_error_}
        for sigma in (1.0, 1.5):
            found = []
            for seed in range(3):
                peer = MiniSom(side, side, X.shape[1], sigma=sigma, learning_rate=0.5,
                               random_seed=seed)
                peer._weights = to_minisom_layout(start.reshape(side, side, -1), "rectangular")
                peer.train(X, ours.epochs * len(X), random_order=True)
                found.append(quality(X, from_minisom_layout(peer._weights, "rectangular")))
            qe, te = np.median(found, axis=0)
            verdict = "ok" if ours.quantization_error_ <= qe and ours.topographic_error_ <= te \
                else ("QE" if ours.quantization_error_ > qe else "") + \
                     ("TE" if ours.topographic_error_ > te else "")
            row.update({f"S={sigma:g} QE": float(qe), f"S={sigma:g} TE": float(te),
                        f"vs S={sigma:g}": verdict})
        rows.append(row)
        print(f"  {name} {side}x{side} done", flush=True)
    table(rows)
    for kind in ("usual", "held out"):
        mine = [r for r in rows if r["set"] == kind]
        print(f"no worse than MiniSom S=1.5 on {sum(r['vs S=1.5'] == 'ok' for r in mine)} of "
              f"{len(mine)} {kind} rows, than S=1 on {sum(r['vs S=1'] == 'ok' for r in mine)}")


# ---------------------------------------------------------------------------- scaling
SCALING_DIM, SCALING_EPOCHS = 50, 5
MAP_SIDES, SAMPLES = (10, 20, 50, 100), (10_000, 100_000, 1_000_000)


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the
    parent that started it)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(spec: dict) -> dict:
    """One scaling run in a fresh process: seconds, CPU seconds and peak RSS."""
    X = blobs(spec["n"], SCALING_DIM)
    side = spec["side"]
    if spec["lib"] == "ours":
        SOM(2, 2, epochs=1, device="cpu").fit(X[:10])  # numba's one-time load, not timed
    rss_data = peak_rss_mb()
    cpu, start = time.process_time(), time.perf_counter()
    if spec["lib"] == "ours":
        som = SOM(side, side, epochs=SCALING_EPOCHS, device="cpu").fit(X)
        qe, te = som.quantization_error_, som.topographic_error_
    else:
        from minisom import MiniSom

        peer = MiniSom(side, side, SCALING_DIM, sigma=side / 4, learning_rate=0.5,
                       random_seed=0)
        peer._weights = to_minisom_layout(initial_weights(
            X, Grid(side, side), "pca", np.random.default_rng(0)).reshape(side, side, -1),
            "rectangular")
        steps = SCALING_EPOCHS * len(X)
        probe = min(steps, 2000)  # estimate the whole run from a short one first
        peer.train(X[:probe], probe, random_order=True)
        estimate = (time.perf_counter() - start) * steps / probe
        if estimate > spec["limit"]:
            return {"skipped": estimate}
        cpu, start = time.process_time(), time.perf_counter()
        peer.train(X, steps, random_order=True)
        qe, te = peer.quantization_error(X), peer.topographic_error(X)
    return {"seconds": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
            "peak_rss_mb": peak_rss_mb(),
            "rss_after_data_mb": rss_data, "data_mb": X.nbytes / 2**20, "qe": float(qe),
            "te": float(te)}


def run_worker(spec: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--threads", str(ARGS.threads), "--sets",
                          "none", "--worker", json.dumps(spec)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def scaling() -> None:
    print(f"\n== scaling: blobs (12 gaussian clusters) x {SCALING_DIM} float32, "
          f"{SCALING_EPOCHS} epochs, rectangular, PCA start; ours: SOM(side, side) defaults "
          "(fit incl. PCA start and final errors); MiniSom: sigma side/4, lr 0.5, default decay, "
          f"train (random order), then its QE and TE; one process per run; MiniSom skipped when "
          f"a 2,000-step probe predicts more than {ARGS.peer_limit:g} s", flush=True)
    configs = [(10_000, side) for side in MAP_SIDES] + [(n, 20) for n in SAMPLES[1:]] + \
              [(n, 50) for n in SAMPLES[1:]]
    rows = []
    for n, side in configs:
        row = {"samples": n, "map": f"{side}x{side}"}
        for lib in ("ours", "minisom"):
            result = run_worker({"lib": lib, "n": n, "side": side, "limit": ARGS.peer_limit})
            if "skipped" in result:
                row.update({f"{lib} cpu s": f"~{result['skipped']:.0f} wall (skipped)",
                            f"{lib} wall s": "-", f"{lib} peak MiB": "-"})
                continue
            row.update({f"{lib} cpu s": round(result["cpu_s"], 3),
                        f"{lib} wall s": round(result["seconds"], 2),
                        f"{lib} peak MiB": round(result["peak_rss_mb"])})
            if lib == "ours":
                row["data MiB"] = round(result["data_mb"])
        ours_s, peer_s = row["ours cpu s"], row["minisom cpu s"]
        row["x (cpu)"] = f"{peer_s / ours_s:.0f}x" if isinstance(peer_s, float) else "-"
        rows.append(row)
        print(f"  {n} x {side}x{side} done", flush=True)
    table(rows)


def main() -> None:
    if ARGS.worker:
        print(json.dumps(worker(json.loads(ARGS.worker))))
        return
    print(f"threads {ARGS.threads}; python {sys.version.split()[0]}; numpy {np.__version__}")
    for name in [s for s in ARGS.sets.split(",") if s and s != "none"]:
        compare(name)
    if ARGS.command:
        commands()
    if ARGS.defaults:
        defaults()
    if ARGS.scaling:
        scaling()


if __name__ == "__main__":
    main()
