"""`dlcourse som`: train a self-organizing map on a table, draw its maps, map new samples."""

from __future__ import annotations

import time
from pathlib import Path

import click

from dlcourse.cli.common import device_option, echo_table, out_option, parse_grid, seed_option

group = click.Group("som", help="Self-organizing maps: train, plot, predict.")

TOPOLOGIES = {"rect": "rectangular", "rectangular": "rectangular",
              "hex": "hexagonal", "hexagonal": "hexagonal"}
DATA_HELP = ("A .csv or .npy file, sklearn:iris|wine|digits|breast_cancer, fashion-mnist or "
             "mnist-5k.")


def _load(data: str, label_column: str | None, limit: int | None, seed: int):
    from dlcourse.som.data import load_table

    return load_table(data, label_column=label_column, limit=limit, seed=seed)


@group.command()
@click.argument("data")
@click.option("--grid", "grid", default="10x10", show_default=True, help="Rows x columns.")
@click.option("--topology", type=click.Choice(sorted(TOPOLOGIES)), default="rect",
              show_default=True)
@click.option("--toroidal", is_flag=True, help="Wrap the grid's edges.")
@click.option("--algorithm", type=click.Choice(["batch", "online", "minibatch"]), default="batch",
              show_default=True, help="batch: fast, all samples per epoch; online: the "
              "per-sample rule; minibatch: in between.")
@click.option("--epochs", type=int, default=10, show_default=True)
@click.option("--init", type=click.Choice(["pca", "random", "sample"]), default="pca",
              show_default=True)
@click.option("--neighborhood", default="gaussian", show_default=True,
              help="gaussian, bubble, mexican_hat or triangle.")
@click.option("--decay", default="exponential", show_default=True,
              help="exponential, linear or inverse_time.")
@click.option("--distance", default="euclidean", show_default=True,
              help="euclidean, cosine or manhattan.")
@click.option("--sigma", type=float, default=None,
              help="Start radius in grid units [default: max(rows, cols) / 4].")
@click.option("--sigma-end", type=float, default=1.0, show_default=True)
@click.option("--learning-rate", type=float, default=0.5, show_default=True,
              help="Online/minibatch start learning rate.")
@click.option("--batch-size", type=int, default=256, show_default=True)
@click.option("--standardize/--no-standardize", default=True, show_default=True,
              help="Scale each feature to mean 0, std 1 (the scaler is saved with the map).")
@click.option("--label-column", default=None, help="CSV column holding labels (not a feature).")
@click.option("--limit", type=int, default=None, help="Train on a random subset of this size.")
@click.option("--dry-run", is_flag=True, help="200 samples, a 5x5 grid, 2 epochs.")
@device_option
@seed_option
@out_option
def train(data, grid, topology, toroidal, algorithm, epochs, init, neighborhood, decay, distance,
          sigma, sigma_end, learning_rate, batch_size, standardize, label_column, limit, dry_run,
          device, seed, out):
    """Train a map on DATA; save it in --out.

    Writes model.pt (weights, scaler, unit labels), history.json and metrics.json. Under
    ``torchrun --nproc_per_node=N -m dlcourse som train ...`` the batch algorithm splits every
    epoch's samples over the N processes (same map as one process); rank 0 writes the outputs.
    """
    from dlcourse.engine import write_json
    from dlcourse.engine.distributed import (
        init_distributed,
        is_main_process,
        shutdown_distributed,
        world_size,
    )
    from dlcourse.som import SOM
    from dlcourse.som.data import Standardizer

    m, n = parse_grid(grid)
    if dry_run:
        m, n, epochs, limit = min(m, 5), min(n, 5), min(epochs, 2), min(limit or 200, 200)
    table = _load(data, label_column, limit, seed)
    X = table.X
    scaler = Standardizer().fit(X) if standardize else None
    if scaler is not None:
        X = scaler.transform(X)
    # every rank loads all the data and SOM.fit scans only its share (gloo on the CPU, nccl
    # with each rank on its own GPU); one process keeps the device as given, e.g. "auto"
    rank_device = init_distributed(device)
    if world_size() > 1:
        device = str(rank_device)
    som = SOM(m, n, topology=TOPOLOGIES[topology], toroidal=toroidal, init=init,
              neighborhood=neighborhood, decay=decay, distance=distance, sigma=sigma,
              sigma_end=sigma_end, learning_rate=learning_rate, algorithm=algorithm,
              epochs=epochs, batch_size=batch_size, seed=seed, device=device)
    start = time.perf_counter()
    try:
        som.fit(X)
    finally:
        shutdown_distributed()
    seconds = time.perf_counter() - start
    if not is_main_process():
        return
    out = Path(out)
    extra = {"scaler": scaler.to_dict() if scaler else None, "feature_names": table.feature_names,
             "data": data, "label_column": label_column}
    if table.labels is not None:
        extra["classes"] = sorted({str(v) for v in table.labels})
        majority = som.majority_labels(X, [str(v) for v in table.labels])
        extra["unit_labels"] = majority.tolist()  # (m, n) nested lists, None where no hits
    som.save(out / "model.pt", **extra)
    write_json(out / "history.json", som.history_)
    metrics = {"data": data, "samples": len(X), "features": X.shape[1], "grid": f"{m}x{n}",
               "topology": som.topology, "algorithm": algorithm, "epochs": epochs,
               "quantization_error": som.quantization_error_,
               "topographic_error": som.topographic_error_, "seconds": seconds,
               "samples_per_s": len(X) * epochs / max(seconds, 1e-9)}
    write_json(out / "metrics.json", metrics)
    echo_table([{"epoch": h["epoch"], "qe": h["quantization_error"],
                 "te": h["topographic_error"], "sigma": h["sigma"]} for h in som.history_])
    click.echo(f"trained {m}x{n} {som.topology} map on {len(X)} x {X.shape[1]} in {seconds:.2f}s "
               f"({som.device_}); saved to {out / 'model.pt'}")


def _load_map(directory: str, device: str):
    from dlcourse.som import SOM

    return SOM.load(Path(directory) / "model.pt", device=device)


def _prepare(som, data: str, limit: int | None, seed: int):
    """Load DATA with the map's label column and scaler; returns (table, scaled X)."""
    from dlcourse.som.data import Standardizer

    table = _load(data, som.metadata_.get("label_column"), limit, seed)
    X = table.X
    if som.metadata_.get("scaler"):
        X = Standardizer.from_dict(som.metadata_["scaler"]).transform(X)
    if X.shape[1] != som.n_features_in_:
        from dlcourse.errors import DlcourseError

        raise DlcourseError(f"{data} has {X.shape[1]} features but the map was trained on "
                            f"{som.n_features_in_}; pass data with the training columns")
    return table, X


@group.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--data", default=None, help="Data for the hit map and scatter [default: the "
              "training data when it can be loaded again].")
@click.option("--features", default=None, help="Component planes to draw, e.g. 0,5,12 "
              "[default: the first 8].")
@click.option("--limit", type=int, default=None, help="Use a random subset of the data.")
@device_option
@seed_option
def plot(directory, data, features, limit, device, seed):
    """Draw a trained map's figures (PNG) into its DIRECTORY.

    U-matrix, component planes and error curves; with data also the hit map and the scatter.
    """
    from dlcourse.plots import som as plots

    som = _load_map(directory, device)
    out = Path(directory)
    names = som.metadata_.get("feature_names")
    picked = None
    if features:
        try:
            picked = [int(v) for v in features.split(",")]
        except ValueError:
            raise click.BadParameter(f"{features!r} is not a comma-separated list of column "
                                     "numbers", param_hint="--features") from None
        bad = [k for k in picked if not 0 <= k < som.n_features_in_]
        if bad:
            raise click.BadParameter(f"feature {bad[0]} out of range 0..{som.n_features_in_ - 1}",
                                     param_hint="--features")
    written = [plots.plot_umatrix(som.distance_map(), out / "umatrix.png", som.topology),
               plots.plot_component_planes(som.weights_, out / "component_planes.png", picked,
                                           names, som.topology),
               plots.plot_som_history(som.history_, out / "history.png")]
    source = data or som.metadata_.get("data")
    if source:
        table, X = _prepare(som, source, limit, seed)
        labels = None
        if table.labels is not None:
            labels = som.majority_labels(X, [str(v) for v in table.labels])
        written.append(plots.plot_hit_map(som.activation_response(X), out / "hit_map.png",
                                          som.topology, labels))
        written.append(plots.plot_weight_scatter(X, som.weights_, out / "weights_scatter.png",
                                                 som.topology, labels=table.labels,
                                                 names=names))
    for path in written:
        click.echo(str(path))


@group.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("data")
@click.option("--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write one CSV row per sample (row, col, distance, unit_label) here.")
@click.option("--limit", type=int, default=None, help="Use a random subset of the data.")
@device_option
@seed_option
def predict(directory, data, output, limit, device, seed):
    """Map each sample of DATA to its best unit.

    DIRECTORY holds the trained map; prints or writes (row, col, distance, unit label).
    """
    import numpy as np

    from dlcourse.engine import atomic_write

    som = _load_map(directory, device)
    table, X = _prepare(som, data, limit, seed)
    bmu, dist = som.bmu_indices(X, return_distances=True)
    coords = np.stack(np.divmod(bmu, som.n), axis=1)  # (N, 2) row, col
    unit_labels = som.metadata_.get("unit_labels")
    rows = []
    for i, (r, c) in enumerate(coords.tolist()):
        row = {"sample": i, "row": r, "col": c, "distance": float(dist[i])}
        if unit_labels is not None:
            row["unit_label"] = unit_labels[r][c]
        if table.labels is not None:
            row["label"] = table.labels[i]
        rows.append(row)
    if output:
        import csv

        with atomic_write(output, "w") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        click.echo(f"wrote {len(rows)} rows to {output}")
    else:
        echo_table(rows[:20])
        if len(rows) > 20:
            click.echo(f"... {len(rows) - 20} more rows (use --output FILE.csv)")
    summary = {"samples": len(X), "quantization_error": som.quantization_error(X),
               "topographic_error": som.topographic_error(X)}
    if unit_labels is not None and table.labels is not None:
        hits = [row["unit_label"] == str(row["label"]) for row in rows
                if row["unit_label"] is not None]
        summary["label_agreement"] = float(np.mean(hits)) if hits else float("nan")
    echo_table([summary])
