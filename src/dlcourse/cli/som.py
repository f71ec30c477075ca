"""`dlcourse som`: train a self-organizing map on a table, measure it, map samples, draw it.

    dlcourse som train DATA --out DIR [--grid RxC] [options]
    dlcourse som evaluate MODEL_DIR [DATA] [--out DIR]
    dlcourse som predict MODEL_DIR DATA [--out FILE.csv]
    dlcourse som plot MODEL_DIR [--data DATA] [--out DIR]

The training options are generated from :class:`~dlcourse.som.config.SOMConfig` (each default
lives there once) and every value is checked before any data is read. On the CPU no command
imports torch. The verbs that read a trained map are in :mod:`dlcourse.cli.som_maps`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from dlcourse.cli.common import (
    LIMIT,
    check_device,
    check_dry_run_out,
    note_dry_run,
    out_option,
    parse_grid,
    resume_option,
)
from dlcourse.cli.options import ConfigOptions, option_error, option_name
from dlcourse.cli.tables import echo_table
from dlcourse.errors import ConfigError, DlcourseError
from dlcourse.som.config import SOMConfig

group = click.Group("som", help="Self-organizing maps: train, evaluate, predict, plot.")

TOPOLOGY_ALIASES = {"rect": "rectangular", "hex": "hexagonal"}  # short forms older scripts use
# --grid sets m and n; --topology is declared below to accept the short forms as choices
TRAIN = ConfigOptions(SOMConfig, exclude=("m", "n", "topology"),
                      rename={"m": "--grid", "n": "--grid",  # the other lessons' spellings first
                              "learning_rate": ("--lr", "--learning-rate"),
                              "learning_rate_end": ("--lr-end", "--learning-rate-end")})
DEFAULTS = SOMConfig()
_TOPOLOGY = next(f for f in SOMConfig.fields() if f.name == "topology")
DRY_RUN_ROWS = 200
limit_option = click.option("--limit", type=LIMIT, default=None,
                            help="Use a seeded random subset of this many rows "
                                 "[default: all].")


def _column_names(ctx, param, values) -> list[str]:
    """--drop-cols as a list: comma-separated, the option repeatable (the values add up)."""
    names = [name.strip() for value in values for name in value.split(",")]
    if "" in names:  # a stray comma: the user meant a name there
        raise DlcourseError(f"--drop-cols {','.join(values)!r} has an empty column name; give "
                            "names separated by commas, e.g. --drop-cols id,color")
    return list(dict.fromkeys(names))


def drop_cols_option(help_: str):
    """--drop-cols, with the verb's ``help_`` (train remembers it; the others add to it)."""
    return click.option("--drop-cols", "--drop-columns", "drop_columns", multiple=True,
                        metavar="COLS", callback=_column_names, help=help_)


def train_config(grid: str | None, topology: str | None, options: dict,
                 dry_run: bool = False) -> SOMConfig:
    """The validated config of ``som train``: ``--grid`` sets m and n, rect/hex are accepted.

    Raises:
        DlcourseError: a value out of range, naming its option.
    """
    m, n = parse_grid(grid) if grid is not None else (DEFAULTS.m, DEFAULTS.n)
    fixed = {"m": m, "n": n, "progress": True}  # bars unless `dlcourse -q`
    if topology is not None:
        fixed["topology"] = TOPOLOGY_ALIASES.get(topology, topology)
    if dry_run:  # a smoke test: a small map, two epochs
        fixed.update(m=min(m, 5), n=min(n, 5), epochs=min(options.get("epochs") or 2, 2))
    config = TRAIN.build(options, **fixed)
    unused = [k for k in config.idle_settings() if options.get(k) is not None]
    if unused:  # typed, so the user expects them to matter
        names = ", ".join(option_name(k, TRAIN.rename) for k in unused)
        click.echo(f"note: the batch algorithm does not use {names} (online and minibatch "
                   "do); the batch rule has no learning rate or sample order", err=True)
    return config


@group.command()
@click.argument("data", metavar="DATA")
@out_option
@click.option("--grid", default=None, metavar="RxC",
              help=f"Rows x columns of units, e.g. 20x20 [default: {DEFAULTS.m}x{DEFAULTS.n}].")
@click.option("--topology", default=None,
              type=click.Choice([*_TOPOLOGY.metadata["choices"], *TOPOLOGY_ALIASES]),
              help=f"{_TOPOLOGY.metadata['help']} rect and hex for short. "
                   f"[default: {DEFAULTS.topology}]")
@TRAIN
@click.option("--standardize/--no-standardize", default=True, show_default=True,
              help="Scale each feature to mean 0, std 1 (the scaler is saved with the map).")
@click.option("--label-col", "--label-column", "label_column", default=None,
              help="The table column holding labels (not a feature); none: no labels "
                   "[default: a column named label/class/target/species/y (of whole numbers, "
                   "if numbers), or the one text column].")
@drop_cols_option("Table columns to leave out of the features, comma-separated, e.g. "
                  "id,color (an ID, a note); saved with the map, so that evaluate, predict and "
                  "plot leave them out too [default: none].")
@limit_option
@resume_option
@click.option("--dry-run", is_flag=True, help=f"{DRY_RUN_ROWS} rows, at most 5x5 units, "
              "2 epochs: check the set-up.")
def train(data, out, grid, topology, standardize, label_column, drop_columns, limit, resume,
          dry_run, **options):
    """Train a map on DATA and save it in --out.

    DATA: a table (.csv, .tsv, .txt, .jsonl, .parquet; separated by commas, tabs, ;, | or
    spaces as numpy.savetxt writes them, its '# a b c' header line naming the columns; the
    index pandas' to_csv writes is dropped), a .npy matrix, sklearn:NAME (iris, wine, digits,
    breast_cancer), fashion-mnist or mnist-5k (their pixels divided by 255: give
    SOM.load(DIR).predict rows scaled so).

    Writes model.safetensors (weights, scaler, column names, unit labels; read without torch),
    last.safetensors (the checkpoint), history.json and metrics.json. Ctrl-C stops at the next
    safe point and saves the checkpoint; the same command with --resume continues from there
    to the map an uninterrupted run gives, bit for bit (every algorithm is seeded). Under
    'torchrun --nproc_per_node=N -m dlcourse som train ...' the batch algorithm splits every
    epoch's samples over the N processes (the same map as one process); rank 0 writes the
    outputs.
    """
    config = train_config(grid, topology, options, dry_run)
    typed = {**options, "limit": limit,
             "grid": None if grid is None else "x".join(map(str, parse_grid(grid)))}
    if dry_run:
        check_dry_run_out(out, resume)
        limit = min(limit or DRY_RUN_ROWS, DRY_RUN_ROWS)
    from dlcourse.som.data import check_source
    from dlcourse.som.training import check_resumable, resolve_backend

    source = check_source(data)
    # a resume compares --drop-cols as one value, in any order ("none" when not given)
    run_info = {"standardize": standardize, "label_column": label_column, "limit": limit,
                "drop_columns": ",".join(sorted(drop_columns)) or None}
    if resume:
        check_resumable(out, {**config.resume_values(), **run_info})
    from dlcourse.engine import distributed

    with distributed.process_group(config.device):  # no torch for a single process
        if distributed.world_size() > 1:  # this rank's device in the joined group
            config = config.replace(device=str(distributed.init_distributed(config.device)))
        else:  # an unavailable device: before reading
            resolve_backend(check_device(config.device), config.backend)
        if dry_run:  # every check passed: say which typed values the smoke test replaces
            note_dry_run(typed, {"grid": f"{config.m}x{config.n}", "epochs": config.epochs,
                                 "limit": limit}, TRAIN.rename)
        som, table, X = _fit(source, config, out, resume, run_info)
        if distributed.is_main_process():
            _report(som, X, source, out)


def _fit(source: str, config: SOMConfig, out: Path, resume: bool, run_info: dict):
    """Read the data and train; fit writes the model file once, scaler and labels in it."""
    from dlcourse.som import SOM, scaling
    from dlcourse.som import data as tables

    drops = run_info["drop_columns"].split(",") if run_info["drop_columns"] else []
    table = tables.load_table(source, run_info["label_column"], run_info["limit"], config.seed,
                              drop_columns=drops)
    echo_notes(table)
    scaler = scaling.Standardizer().fit(table.X, table.feature_names) if run_info["standardize"] \
        else None
    X = scaler.transform(table.X) if scaler is not None else table.X
    fix = "drop --no-standardize or rescale the data"
    if config.distance == "cosine":  # SOM.fit checks the other distances (once), not this one
        scaling.check_float32_range(X, table.feature_names, table.name, fix)
    named_set = source.startswith("sklearn:") or source in tables.IMAGE_SETS
    som = SOM(config=config)
    names_checked()
    som.metadata_ = {"scaler": scaler.to_dict() if scaler else None,
                     "feature_names": table.feature_names, "named_features": table.named,
                     # where evaluate/plot find the data again, from any working directory
                     "data": source if named_set else str(Path(source).resolve()),
                     # "" after --label-col none: predict guesses no labels either
                     "label_column": "" if run_info["label_column"] and table.label_column
                     is None else table.label_column,
                     # so that the verbs reading the map leave the same columns out
                     "drop_columns": drops,
                     # the --limit subset, so that evaluate and plot default to the same rows
                     "limit": run_info["limit"], "limit_seed": config.seed}
    labels = None
    if table.labels is not None:
        labels = [str(v) for v in table.labels]
        som.metadata_["classes"] = sorted(set(labels))
    data = X
    if table.named:  # the names travel with the map: a DataFrame in Python is checked too
        import pandas as pd

        data = pd.DataFrame(X, columns=table.feature_names, copy=False)
    try:
        som.fit(data, labels, out_dir=out, resume=resume, run_info=run_info)
    except scaling.SpreadError as exc:  # fit's own checks (before any work), in the CLI's words
        raise exc.renamed(table.name, table.feature_names, fix) from None
    except ConfigError as exc:  # e.g. --epochs too many for these samples
        raise option_error(exc, TRAIN.rename) from None
    return som, table, X


def names_checked() -> None:
    """The verbs check DATA's columns against the map's names themselves (by name, before any
    work) and query with plain arrays: scikit-learn's warning that such X has no names is
    noise on a command's stderr."""
    warnings.filterwarnings("ignore", "X does not have valid feature names", UserWarning)


def _report(som, X, source: str, out: Path) -> None:
    """Write history.json and metrics.json beside the model and print the run."""
    from dlcourse.engine.files import write_json

    write_json(out / "history.json", som.history_)
    c = som.config
    seconds = som.history_[-1]["seconds"]  # training only, over the resumed runs too
    # --iterations (online, mini-batch) replaces epochs x samples
    visited = len(X) * c.epochs if c.iterations is None else int(c.iterations)
    write_json(out / "metrics.json", {
        "data": source, "samples": len(X), "features": X.shape[1], "grid": f"{c.m}x{c.n}",
        "topology": c.topology, "algorithm": c.algorithm,
        "epochs": c.epochs if c.iterations is None else round(visited / len(X), 4),
        "samples_visited": visited, "quantization_error": som.quantization_error_,
        "topographic_error": som.topographic_error_, "seconds": seconds,
        "samples_per_s": visited / max(seconds, 1e-9)})
    echo_table([{"epoch": h["epoch"], "qe": h["quantization_error"],
                 "te": h["topographic_error"], "sigma": h["sigma"]} for h in som.history_])
    click.echo(f"trained {c.m}x{c.n} {c.topology} map on {len(X):,} x {X.shape[1]} in "
               f"{seconds:.2f}s ({som.device_}); saved to {out} (next: dlcourse som evaluate "
               f"{out})")


def echo_notes(table) -> None:
    """What reading ``table`` decided for the user (a column taken as the labels, an index
    dropped): one ``note:`` line each on stderr, once under torchrun."""
    from dlcourse.engine.distributed import is_main_process

    for note in table.notes if is_main_process() else ():
        click.echo(f"note: {note}", err=True)
