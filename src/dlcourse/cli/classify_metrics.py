"""How `dlcourse classify train` and `evaluate` show and write a set's metrics (printed tables,
``metrics_NAME.json`` and a confusion-matrix figure)."""

from __future__ import annotations

from pathlib import Path

import click

from dlcourse.cli.tables import echo_table


def _metric_rows(metrics: dict) -> list[dict]:
    """Per-class precision, recall, F1 and support, then the macro row."""
    rows = [{"class": str(m["class"]), "precision": m["precision"], "recall": m["recall"],
             "f1": m["f1"], "support": m["support"]} for m in metrics["per_class"]]
    rows.append({"class": "macro", "precision": metrics["macro_precision"],
                 "recall": metrics["macro_recall"], "f1": metrics["macro_f1"],
                 "support": metrics["n"]})
    return rows


def _few(names: list[str], most: int = 5) -> str:
    """Up to ``most`` names, then how many more."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def show_metrics(metrics: dict, name: str) -> None:
    """Print accuracy, macro F1 (and ROC-AUC), the per-class table and the confusion matrix."""
    auc = f", ROC-AUC {metrics['roc_auc']:.4f}" if "roc_auc" in metrics else ""
    click.echo(f"{name}: accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f}"
               f"{auc} ({metrics['n']} texts)")
    echo_table(_metric_rows(metrics))
    left_out = [str(m["class"]) for m in metrics["per_class"] if not m.get("in_macro", True)]
    if left_out:  # why the macro row is not the mean of the rows above it
        click.echo(f"macro: the mean over the {len(metrics['per_class']) - len(left_out)} "
                   f"classes in the set or predicted; left out (no texts, never predicted): "
                   f"{_few(left_out)}")
    click.echo("confusion matrix (rows: true, columns: predicted)")
    classes = [str(c) for c in metrics["classes"]]
    echo_table([{"true": c, **dict(zip(classes, row))}
                for c, row in zip(classes, metrics["confusion_matrix"])])


def write_metrics(out: Path, metrics: dict, name: str, json_name: str | None = None) -> None:
    """Write ``OUT/metrics_NAME.json`` (or ``OUT/json_name``) and ``OUT/confusion_NAME.png``."""
    from dlcourse.engine import write_json
    from dlcourse.plots.common import plot_confusion_matrix

    write_json(out / (json_name or f"metrics_{name}.json"), metrics)
    plot_confusion_matrix(metrics["confusion_matrix"], [str(c) for c in metrics["classes"]],
                          out / f"confusion_{name}.png", title=f"Confusion matrix ({name})")


def report_training(clf, valid_set, test_set, out: Path) -> None:
    """After `classify train` (rank 0; fit wrote the model): the history, then each split's
    metrics printed and written."""
    click.echo(f"trained on {clf.device_} in {clf.fit_seconds_:.1f} s")
    # "weights": which of the weight average and the weights themselves stood for the epoch
    echo_table([{**{k: h[k] for k in ("epoch", "train_loss", "valid_loss", "valid_acc",
                                      "valid_f1", "items_per_s")},
                 **({"weights": "average" if h["averaged"] else "own"} if "averaged" in h
                    else {})} for h in clf.history_])
    click.echo(f"best epoch {clf.best_epoch_}")
    for name, part in (("valid", valid_set), ("test", test_set)):
        if part is not None:
            metrics = clf.evaluate(*part)
            write_metrics(out, metrics, name)
            show_metrics(metrics, name)
    click.echo(f"saved {out / 'model.safetensors'} (predict with: dlcourse classify predict "
               f"{out} TEXT...)")
