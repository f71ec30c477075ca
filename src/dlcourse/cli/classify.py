"""`dlcourse classify train | evaluate | predict`: CNN, Transformer and RNN text classifiers from
the terminal."""

from __future__ import annotations

from pathlib import Path

import click

from dlcourse.cli.common import (
    device_option,
    echo_table,
    out_option,
    resume_option,
    seed_option,
)

group = click.Group("classify", help="Train, evaluate and use CNN, Transformer and RNN/GRU/LSTM "
                                    "text classifiers.")

DATA_SETS = ("rt-sentences", "pang-lee-sample", "mr-polarity", "imdb")
TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".parquet")


def _labelled(data: str | None, path: str | None, text_col: str, label_col: str):
    """(train, valid, test) pairs of (texts, labels) for --data NAME, or (table, None, None)."""
    from dlcourse.classify import data as cdata

    if data is not None:
        parts = cdata.load_dataset(data)
        return parts["train"], parts["valid"], parts["test"]
    return cdata.read_labelled(path, text_col, label_col), None, None


def _metric_rows(metrics: dict) -> list[dict]:
    rows = [{"class": str(m["class"]), "precision": m["precision"], "recall": m["recall"],
             "f1": m["f1"], "support": m["support"]} for m in metrics["per_class"]]
    rows.append({"class": "macro", "precision": metrics["macro_precision"],
                 "recall": metrics["macro_recall"], "f1": metrics["macro_f1"],
                 "support": metrics["n"]})
    return rows


def _show_metrics(metrics: dict, name: str) -> None:
    auc = f", ROC-AUC {metrics['roc_auc']:.4f}" if "roc_auc" in metrics else ""
    click.echo(f"{name}: accuracy {metrics['accuracy']:.4f}, macro F1 {metrics['macro_f1']:.4f}"
               f"{auc} ({metrics['n']} texts)")
    echo_table(_metric_rows(metrics))
    click.echo("confusion matrix (rows: true, columns: predicted)")
    classes = [str(c) for c in metrics["classes"]]
    echo_table([{"true": c, **dict(zip(classes, row))}
                for c, row in zip(classes, metrics["confusion_matrix"])])


def _write_metrics(out: Path, metrics: dict, name: str) -> None:
    from dlcourse.engine import write_json
    from dlcourse.plots.common import plot_confusion_matrix

    write_json(out / f"metrics_{name}.json", metrics)
    plot_confusion_matrix(metrics["confusion_matrix"], [str(c) for c in metrics["classes"]],
                          out / f"confusion_{name}.png", title=f"Confusion matrix ({name})")


@group.command()
@click.option("--train", "train_path", type=click.Path(exists=True, dir_okay=False),
              help="Training table (CSV/TSV/JSON lines/parquet) with a text and a label column.")
@click.option("--valid", "valid_path", type=click.Path(exists=True, dir_okay=False),
              help="Validation table (default: 10% of --train, stratified).")
@click.option("--data", type=click.Choice(DATA_SETS),
              help="Named data instead of --train: rt-sentences (offline, 10,568 review "
                   "sentences, fixed 80/10/10 split), pang-lee-sample (offline, 200), "
                   "mr-polarity or imdb (downloaded).")
@click.option("--text-col", default="text", show_default=True, help="Column holding the text.")
@click.option("--label-col", default="label", show_default=True, help="Column holding the label.")
@click.option("--model", type=click.Choice(["cnn", "transformer", "rnn", "gru", "lstm"]),
              default="cnn", show_default=True,
              help="Kim's CNN, a small Transformer encoder, or a recurrent cell.")
@click.option("--embed-dim", default=100, show_default=True, type=int,
              help="Embedding size: random or word2vec vectors (others have their own size).")
@click.option("--hidden-size", default=None, type=int,
              help="RNN units, CNN maps per filter width, or Transformer width "
                   "[default: 128, 100, 64].")
@click.option("--layers", default=None, type=int,
              help="Recurrent or Transformer layers [default: 2].")
@click.option("--bidirectional/--unidirectional", default=True, show_default=True)
@click.option("--pooling", type=click.Choice(["max", "mean", "last", "cls"]), default=None,
              help="How the outputs over time become one vector (last: RNNs only, cls: "
                   "Transformer only) [default: Transformer mean, others max].")
@click.option("--dropout", default=None, type=float,
              help="Dropout [default: RNN 0.3, CNN 0.5, Transformer 0.1].")
@click.option("--kernel-sizes", default="3,4,5", show_default=True,
              help="CNN filter widths, comma-separated.")
@click.option("--heads", default=4, show_default=True, type=int,
              help="Transformer attention heads.")
@click.option("--positions", type=click.Choice(["learned", "sinusoidal"]), default="learned",
              show_default=True, help="Transformer position codes.")
@click.option("--multichannel", is_flag=True,
              help="CNN/Transformer with --pretrained: a frozen copy of the vectors beside the "
                   "fine-tuned ones (Kim's multichannel model).")
@click.option("--word-dropout", default=0.2, show_default=True, type=float,
              help="In training, replace each token by <unk> with this probability.")
@click.option("--adversarial", default=1.0, show_default=True, type=float,
              help="Adversarial training: also train on each sentence's word vectors pushed "
                   "this far the worst way (0: off).")
@click.option("--tokenizer", default="basic_english", show_default=True,
              type=click.Choice(["basic_english", "whitespace", "regex", "wordpiece"]))
@click.option("--max-vocab", default=30000, show_default=True, type=int)
@click.option("--pretrained", default="word2vec", show_default=True,
              help="Word vectors the embedding starts from: word2vec (trained on the training "
                   "texts, seconds), glove-6b-50d (offline), a GloVe/word2vec text file, "
                   "names joined by + to concatenate, or none (random).")
@click.option("--freeze/--fine-tune", default=False, show_default=True,
              help="Keep the pretrained vectors fixed, or train them further.")
@click.option("--pretrained-vocab", default=50000, show_default=True, type=int,
              help="Also give the N most frequent words of the pretrained vectors a row "
                   "(words the training texts lack keep their vector).")
@click.option("--epochs", default=10, show_default=True, type=int)
@click.option("--batch-size", default=50, show_default=True, type=int)
@click.option("--lr", default=1e-3, show_default=True, type=float)
@click.option("--schedule", type=click.Choice(["none", "linear", "cosine"]), default="none",
              show_default=True, help="Learning-rate decay to zero over --epochs.")
@click.option("--patience", default=3, show_default=True, type=int,
              help="Early stopping: epochs without improvement of --monitor.")
@click.option("--monitor", type=click.Choice(["accuracy", "f1", "loss"]), default="accuracy",
              show_default=True, help="Validation metric for early stopping and the best epoch.")
@click.option("--class-weight", type=click.Choice(["none", "balanced"]), default="none",
              show_default=True, help="balanced: weigh classes inversely to their counts.")
@seed_option
@device_option
@out_option
@resume_option
@click.option("--dry-run", is_flag=True, help="Smoke test: 200 texts, 1 epoch, a tiny model.")
def train(train_path, valid_path, data, text_col, label_col, model, embed_dim, hidden_size,
          layers, bidirectional, pooling, dropout, kernel_sizes, heads, positions, multichannel,
          word_dropout, adversarial, tokenizer, max_vocab, pretrained, freeze, pretrained_vocab,
          epochs, batch_size, lr, schedule, patience, monitor, class_weight, seed, device, out,
          resume, dry_run):
    """Train a classifier on a labelled table (--train) or a named data set (--data); save to OUT.

    OUT gets model.pt (everything `predict` needs), metrics_valid.json and confusion_valid.png
    (and *_test when the data set has a test split), and the engine's per-epoch last.pt,
    best.pt and history.json.

    Example: dlcourse classify train --data rt-sentences --pretrained glove-6b-50d --out runs/rt
    (the default recipe: Kim's CNN on fine-tuned GloVe vectors with word dropout)

    Runs unchanged under ``torchrun --nproc_per_node=N -m dlcourse classify train ...`` (gloo on
    CPU, nccl on CUDA): --batch-size is the global batch, split over the N processes, and rank 0
    prints and writes OUT; --resume works with any N.
    """
    if (train_path is None) == (data is None):
        raise click.UsageError("give either --train FILE or --data NAME")
    try:
        kernel_sizes = tuple(int(k) for k in kernel_sizes.split(",") if k.strip())
    except ValueError:
        raise click.BadParameter(f"{kernel_sizes!r} is not a comma-separated list of widths",
                                 param_hint="--kernel-sizes") from None
    from dlcourse.classify import TextClassifier
    from dlcourse.classify import data as cdata
    from dlcourse.engine.distributed import (
        init_distributed,
        is_main_process,
        shutdown_distributed,
    )

    train_set, valid_set, test_set = _labelled(data, train_path, text_col, label_col)
    if valid_path is not None:
        valid_set = cdata.read_labelled(valid_path, text_col, label_col)
    elif valid_set is None:
        train_set, valid_set = cdata.holdout(*train_set, fraction=0.1, seed=seed)
    if dry_run:
        train_set, valid_set = _head(train_set, 200), _head(valid_set, 100)
        test_set = None if test_set is None else _head(test_set, 100)
        epochs, hidden_size, embed_dim, layers, pretrained_vocab = 1, 16, 16, 1, 0
    clf = TextClassifier(
        model, embed_dim=embed_dim, hidden_size=hidden_size, num_layers=layers,
        bidirectional=bidirectional, pooling=pooling, dropout=dropout,
        kernel_sizes=kernel_sizes, num_heads=heads, positions=positions,
        multichannel=multichannel, word_dropout=word_dropout, adversarial=adversarial,
        tokenizer=tokenizer, max_vocab=max_vocab,
        pretrained=None if pretrained.lower() == "none" else pretrained, freeze=freeze,
        pretrained_vocab=pretrained_vocab, epochs=epochs, batch_size=batch_size, lr=lr,
        schedule=None if schedule == "none" else schedule, patience=patience, monitor=monitor,
        class_weight=None if class_weight == "none" else class_weight, seed=seed, device=device,
        progress=True)
    out = Path(out)
    # every rank reads the same data and split; a single process is unaffected
    init_distributed(device)
    try:
        if is_main_process():
            click.echo(f"training {model} on {len(train_set[0])} texts, validating on "
                       f"{len(valid_set[0])}")
        clf.fit(*train_set, valid=valid_set, out_dir=out, resume=resume)
    finally:
        shutdown_distributed()
    if not is_main_process():
        return
    click.echo(f"trained on {clf.device_} in {clf.fit_seconds_:.1f} s")
    clf.save(out, metadata={"text_col": text_col, "label_col": label_col,
                            "data": data or str(train_path)})
    if clf.coverage_ is not None:
        c = clf.coverage_
        click.echo(f"pretrained vectors cover {c['found']}/{c['vocab_size']} vocabulary entries "
                   f"({c['type_coverage']:.1%}), {c.get('token_coverage', 0):.1%} of tokens")
    echo_table([{k: h[k] for k in ("epoch", "train_loss", "valid_loss", "valid_acc", "valid_f1",
                                   "items_per_s")} for h in clf.history_])
    click.echo(f"best epoch {clf.best_epoch_}")
    for name, part in (("valid", valid_set), ("test", test_set)):
        if part is not None:
            metrics = clf.evaluate(*part)
            _write_metrics(out, metrics, name)
            _show_metrics(metrics, name)
    click.echo(f"saved {out / 'model.pt'}")


def _head(pair, n):
    return pair[0][:n], pair[1][:n]


@group.command()
@click.argument("model_dir", type=click.Path(exists=True))
@click.argument("data_file", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--data", type=click.Choice(DATA_SETS),
              help="Named data instead of DATA_FILE (its test split where it has one).")
@click.option("--text-col", default=None, help="Text column (default: the one used in training).")
@click.option("--label-col", default=None, help="Label column (default: the training one).")
@click.option("--out", "out", type=click.Path(file_okay=False),
              help="Also write metrics_eval.json and confusion_eval.png here.")
@click.option("--batch-size", default=256, show_default=True, type=int)
@device_option
def evaluate(model_dir, data_file, data, text_col, label_col, out, batch_size, device):
    """Accuracy, precision/recall/F1, confusion matrix and ROC-AUC of MODEL_DIR on labelled data.

    Example: dlcourse classify evaluate runs/rt reviews.csv --text-col review --label-col label
    """
    if (data_file is None) == (data is None):
        raise click.UsageError("give either DATA_FILE or --data NAME")
    from dlcourse.classify import TextClassifier

    clf = TextClassifier.load(model_dir, device=device)
    text_col = text_col or clf.metadata_.get("text_col", "text")
    label_col = label_col or clf.metadata_.get("label_col", "label")
    train_set, _, test_set = _labelled(data, data_file, text_col, label_col)
    texts, labels = test_set if test_set is not None else train_set
    labels = _match_label_type(labels, clf.classes_)
    metrics = clf.evaluate(texts, labels, batch_size=batch_size)
    _show_metrics(metrics, data or Path(data_file).name)
    if out is not None:
        _write_metrics(Path(out), metrics, "eval")
        click.echo(f"wrote {Path(out) / 'metrics_eval.json'} and confusion_eval.png")


def _match_label_type(labels, classes):
    """Labels read from a file as text ("1") matched to numeric classes (1) of the model."""
    if classes and all(isinstance(c, int) for c in classes):
        try:
            return [int(y) for y in labels]
        except (TypeError, ValueError):
            return labels
    return labels


@group.command()
@click.argument("model_dir", type=click.Path(exists=True))
@click.argument("texts", nargs=-1)
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False),
              help="Texts to classify: one per line, or a table (CSV/TSV/...) with --text-col.")
@click.option("--text-col", default=None, help="Text column of a table --file.")
@click.option("--output", type=click.Path(dir_okay=False),
              help="Write text,label,p_<class>... as CSV here instead of printing.")
@click.option("--batch-size", default=256, show_default=True, type=int)
@device_option
def predict(model_dir, texts, file, text_col, output, batch_size, device):
    """Label TEXTS (or the texts of --file) with MODEL_DIR, with class probabilities.

    Example: dlcourse classify predict runs/rt "a gorgeous, witty film" "tedious and flat"
    """
    texts = list(texts)
    if file is not None:
        texts += _read_texts(file, text_col)
    if not texts:
        raise click.UsageError("give texts to classify, or --file FILE")
    from dlcourse.classify import TextClassifier

    clf = TextClassifier.load(model_dir, device=device)
    proba = clf.predict_proba(texts, batch_size=batch_size)
    classes = [str(c) for c in clf.classes_]
    rows = [{"text": t, "label": classes[p.argmax()], **{f"p_{c}": float(v)
                                                            for c, v in zip(classes, p)}}
            for t, p in zip(texts, proba)]
    if output is not None:
        import csv

        from dlcourse.engine import atomic_write

        with atomic_write(output, "w") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        click.echo(f"wrote {len(rows)} predictions to {output}")
        return
    for row in rows:
        if len(row["text"]) > 60:
            row["text"] = row["text"][:57] + "..."
    echo_table(rows, floatfmt=".3f")


def _read_texts(path: str, text_col: str | None) -> list[str]:
    from dlcourse.classify.data import read_labelled

    if Path(path).suffix.lower() in TABLE_SUFFIXES:
        return read_labelled(path, text_col or "text", None)[0]
    from dlcourse.text import iter_lines

    return [line for line in iter_lines(path) if line.strip()]
