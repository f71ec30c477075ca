"""`dlcourse som evaluate | predict | plot`: the verbs that read a trained map (the group and
``train`` are in :mod:`dlcourse.cli.som`). None imports torch on the CPU; ``predict`` not even
numba.
"""

from __future__ import annotations

from pathlib import Path

import click

from dlcourse.cli.common import (
    check_model_dir,
    check_not_input,
    check_out_file,
    device_option,
    evaluation_out_option,
    optional_out_dir,
)
from dlcourse.cli.som import drop_cols_option, echo_notes, group, limit_option, names_checked
from dlcourse.cli.tables import echo_table, write_rows
from dlcourse.engine.config import SEED_MAX
from dlcourse.errors import DlcourseError


def _model_dir(ctx, param, value):
    return check_model_dir(value, "som")


def _features(ctx, param, value):
    """--features as given: column numbers, or names (the map's, looked up in ``plot``)."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",")]
    if not all(items):
        raise click.BadParameter(f"{value!r} has an empty item; give column numbers or names "
                                 "separated by commas", ctx, param)
    return [int(v) if v.lstrip("-").isdigit() else v for v in items]


def _output_file(ctx, param, value):
    return None if value is None else check_out_file(value, "--out", "predictions.csv")


model_dir_argument = click.argument("model_dir", metavar="MODEL_DIR", callback=_model_dir)
seed_option = click.option("--seed", type=click.IntRange(0, SEED_MAX), default=0,
                           show_default=True,
                           help="Seed of the --limit subset.")
drop_option = drop_cols_option("More table columns to leave out of DATA, comma-separated "
                               "(those the map was trained without are left out already).")


def _load_map(model_dir: Path, device: str):
    from dlcourse.som import SOM

    return SOM.load(model_dir, device=device)


def _load_data(som, model_dir: Path, data: str | None, limit: int | None, seed: int,
               what: str = "DATA", drop_columns: list[str] | None = None):
    """(table, X) of DATA (default: the map's training data, its --limit subset too unless
    ``limit`` is given) as the map expects them; ``what`` names DATA in the messages; the
    table leaves out ``drop_columns`` (--drop-cols) and the columns of train's --drop-cols."""
    from dlcourse.som.data import IMAGE_SETS, check_source, load_table, model_inputs
    from dlcourse.som.scaling import check_float32_range as check_range

    if data is None:
        if limit is None and som.metadata_.get("limit") is not None:  # the training rows
            limit, seed = int(som.metadata_["limit"]), int(som.metadata_["limit_seed"])
        data = som.metadata_.get("data")
        if data is None:
            raise DlcourseError(f"{model_dir} does not say which data it was trained on; pass "
                                f"{what}")
        named = data.startswith("sklearn:") or data in IMAGE_SETS
        if not named and not Path(data).exists():
            raise DlcourseError(f"{model_dir} was trained on {data!r}, which is not found from "
                                f"here; pass {what}")
    # "" for a map trained with --label-col none: no column is guessed to be the labels
    table = load_table(check_source(data, what), som.metadata_.get("label_column"), limit, seed,
                       require_label=False, drop_columns=drop_columns or (),
                       saved_drops=som.metadata_.get("drop_columns") or ())
    X = model_inputs(table, som.metadata_, som.n_features_in_, what,
                     fitted_names=getattr(som, "feature_names_in_", None))
    names_checked()
    if som.config.distance != "cosine":  # as fit refuses them: the queries search in float32
        ends = som.scale([X.max(axis=0), X.min(axis=0)])  # (2, d): scaling is monotone
        check_range(ends, table.feature_names, table.name, "pass data in the units and range "
                    "of the training data", center=som.center_)
    echo_notes(table)  # after the checks: a refused DATA gets its one error line alone
    return table, X


@group.command(short_help="Quantization error, topographic error, label agreement.")
@model_dir_argument
@click.argument("data", required=False, metavar="[DATA]")
@limit_option
@seed_option
@drop_option
@evaluation_out_option()
@device_option
def evaluate(model_dir, data, limit, seed, drop_columns, out, device):
    """Quantization error, topographic error and label agreement of MODEL_DIR on DATA.

    DATA defaults to the data the map was trained on (its rows: a map trained with --limit is
    evaluated on that subset unless --limit is given). Label agreement: the share of samples
    whose best unit carries their label (units labelled by the training data's majority; a
    sample on a unit no training sample won does not agree); printed when DATA and the model
    have labels. A map trained without labels prints label_purity instead: the same share
    against the majority labels DATA itself gives the units. Writes files only with --out.
    """
    som = _load_map(model_dir, device)
    table, X = _load_data(som, model_dir, data, limit, seed, drop_columns=drop_columns)
    row = {"data": table.name, "samples": len(X), **som.evaluate(X, table.labels)}
    echo_table([row])
    if out is not None:
        from dlcourse.engine.files import write_json

        write_json(out / "evaluation.json", row)
        click.echo(f"wrote {out / 'evaluation.json'}")


@group.command(short_help="Map each sample of DATA to its best unit.")
@model_dir_argument
@click.argument("data", metavar="DATA")
@click.option("--out", "--output", "output", type=click.Path(), default=None,
              callback=_output_file,
              help="Write one row per sample (sample, row, col, distance, unit_label, "
                   "label) here instead of printing the first 20 (CSV; a .tsv name: tabs).")
@limit_option
@seed_option
@drop_option
@device_option
def predict(model_dir, data, output, limit, seed, drop_columns, device):
    """Map each sample of DATA to its best unit of MODEL_DIR: row, column, distance, unit label.

    DATA: as for train (the map's scaler and columns apply). ``sample`` is the row's number in
    DATA (from 0), also for the rows --limit keeps.
    """
    if output is not None:  # DATA read and replaced by its own mapping: refused
        check_not_input(output, "--out", data)
    som = _load_map(model_dir, device)
    table, X = _load_data(som, model_dir, data, limit, seed, drop_columns=drop_columns)
    bmu, dist = som.bmu_indices(X, return_distances=True)
    n = som.config.n
    unit_labels = som.unit_labels_
    rows = []
    for i, (b, d) in enumerate(zip(bmu.tolist(), dist.tolist())):
        r, c = divmod(b, n)
        # the row of DATA, also when --limit kept some of them
        sample = i if table.rows is None else int(table.rows[i])
        row = {"sample": sample, "row": r, "col": c, "distance": d}
        if unit_labels is not None:
            row["unit_label"] = unit_labels[r][c]
        if table.labels is not None:
            row["label"] = table.labels[i]
        rows.append(row)
    if output is None:
        echo_table(rows[:20])
        if len(rows) > 20:
            click.echo(f"... {len(rows) - 20:,} more rows (use --out FILE.csv)")
        return
    write_rows(output, rows)
    click.echo(f"wrote {len(rows):,} rows to {output}")


@group.command(short_help="Draw the U-matrix, hit map, component planes and curves.")
@model_dir_argument
@click.option("--data", default=None, help="Data for the hit map and the scatter [default: the "
              "training data when it is found].")
@click.option("--features", default=None, callback=_features,
              help="Component planes to draw, by column number or name, e.g. 0,5,12 or "
              "age,income [default: the 8 that vary most over the map].")
@limit_option
@seed_option
@drop_option
@click.option("--out", type=click.Path(), default=None, callback=optional_out_dir,
              help="Folder for the PNG files [default: MODEL_DIR].")
@device_option
def plot(model_dir, data, features, limit, seed, drop_columns, out, device):
    """Draw MODEL_DIR's figures as PNG files: U-matrix, component planes and error curves;
    with data also the hit map (units labelled by majority) and the map in data space (the
    data's two principal components, or its two features)."""
    from dlcourse.plots import som as plots

    som = _load_map(model_dir, device)
    d = som.n_features_in_
    topology, names = som.config.topology, som.metadata_.get("feature_names")
    fitted = getattr(som, "feature_names_in_", None)  # a map fitted in Python on a DataFrame
    names = names or (None if fitted is None else [str(n) for n in fitted])
    unknown = [k for k in features or () if isinstance(k, str) and k not in (names or ())]
    if unknown:  # the panels are titled by name: a name is what a user copies from them
        known = f"its columns: {', '.join(names)}" if names else "it has no column names"
        raise DlcourseError(f"--features {unknown[0]!r} is not a column of the map ({known}); "
                            f"or give column numbers 0..{d - 1}")
    features = None if features is None else [
        names.index(k) if isinstance(k, str) else k for k in features]
    bad = [k for k in features or () if not 0 <= k < d]
    if bad:
        raise DlcourseError(f"--features {bad[0]} is out of range 0..{d - 1}")
    out = Path(out or model_dir)
    table = X = None
    try:
        table, X = _load_data(som, model_dir, data, limit, seed, "--data", drop_columns)
    except DlcourseError as exc:
        if data is not None:
            raise
        click.echo(f"note: no hit map or scatter ({exc})", err=True)
    written = [plots.plot_umatrix(som.distance_map(), out / "umatrix.png", topology),
               plots.plot_component_planes(som.weights_, out / "component_planes.png", features,
                                           names, topology),
               plots.plot_som_history(som.history_, out / "history.png")]
    if X is not None:
        labels = None
        if table.labels is not None:
            labels = som.majority_labels(X, [str(v) for v in table.labels])
        written.append(plots.plot_hit_map(som.activation_response(X), out / "hit_map.png",
                                          topology, labels))
        if d >= 2:
            written.append(_scatter(plots, som, X, out, table.labels, names))
    for path in written:
        click.echo(str(path))


def _scatter(plots, som, X, out: Path, labels, names) -> Path:
    """The map in data space: with two features, those; with more, the data's principal plane,
    where the net spreads most (two of 784 pixels showed a tangle)."""
    import numpy as np

    from dlcourse.som.init import top_components

    shown, weights = som.scale(X), som.weights_  # in the weights' units: (N, d), (m, n, d)
    if shown.shape[1] > 2:
        mean = shown.mean(axis=0)
        _, axes = top_components(shown - mean, 2)  # (d, 2)
        shown, weights = (shown - mean) @ axes, (weights - mean) @ axes
        names = ["principal component 1", "principal component 2"]
    return plots.plot_weight_scatter(np.asarray(shown), np.asarray(weights),
                                     out / "weights_scatter.png", som.config.topology, (0, 1),
                                     labels=labels, names=names)
