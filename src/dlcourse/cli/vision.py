"""`dlcourse vision`: train, evaluate and use transfer-learning image classifiers.

    dlcourse vision train DATA --out DIR [options]
    dlcourse vision evaluate MODEL_DIR [DATA] [--out DIR]
    dlcourse vision predict MODEL_DIR IMAGE...

DATA is a named set (cifar-10, cifar-100, fashion-mnist, mnist-5k: the ``dlcourse data list``
names) or an image folder. The training options come from
:class:`~dlcourse.vision.config.TransferConfig`; every value is checked before any data is read.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import click

from dlcourse.cli.common import (
    LIMIT,
    check_batch_split,
    check_device,
    check_dry_run_out,
    check_input_file,
    device_option,
    evaluation_out_option,
    model_dir_argument,
    note_dry_run,
    out_option,
    resume_option,
    same_source,
)
from dlcourse.cli.old_spellings import OldSpellings
from dlcourse.cli.options import ConfigOptions, option_error, option_name
from dlcourse.cli.tables import echo_table
from dlcourse.engine.config import SEED_MAX
from dlcourse.errors import ConfigError, DlcourseError
from dlcourse.vision.config import TransferConfig

group = click.Group("vision", help="Transfer learning: ImageNet backbones on your images.")

# --model as classify and lm train name their model; --model and --wd as torchvision's
# classification recipes (references/classification/train.py) spell them
TRAIN = ConfigOptions(TransferConfig, rename={"hflip": "--flip", "arch": ("--arch", "--model"),
                                              "weight_decay": ("--weight-decay", "--wd")})
DATA_NAMES = ("cifar-10", "cifar-100", "fashion-mnist", "mnist-5k")
DRY_RUN_IMAGES = 32
ON_BAD = click.Choice(["skip", "stop"])


def limit_option(images: str):
    """``--limit N``: a class-balanced subset of ``images``."""
    return click.option("--limit", type=LIMIT, default=None,
                        help=f"Use this many {images} (class-balanced) [default: all].")


on_bad_option = click.option("--on-bad", type=ON_BAD, default="skip", show_default=True,
                             help="Unreadable image files in a folder: skip them (counted) or "
                                  "stop.")


def _data_source(data: str, typed: bool = False) -> str:
    """DATA as a registry name or a folder path; a one-line error for anything else.
    ``typed``: DATA as the user typed it, noted when a folder here has a data set's name."""
    from dlcourse.vision.named_sets import named_set

    if not data.strip():  # Path("") is ".": the working folder would be read as the images
        raise DlcourseError(f"DATA is empty; give a data set ({', '.join(DATA_NAMES)}) or an "
                            "image folder")
    name = named_set(data)
    if name is not None:
        if typed and Path(data.strip()).is_dir():  # the data set; say how to get the folder
            click.echo(f"note: DATA '{data.strip()}' is the data set {name}; for the folder of "
                       f"that name write ./{data.strip()}", err=True)
        return name
    path = Path(data).expanduser()
    if not path.exists():
        raise DlcourseError(f"DATA {data!r} is neither a data set ({', '.join(DATA_NAMES)}) nor "
                            "an image folder that exists")
    if not path.is_dir():
        raise DlcourseError(f"DATA {data} is a file; pass a data set name "
                            f"({', '.join(DATA_NAMES)}) or a folder of class subfolders")
    return str(path)


def _check_limit(source: str, data: str, limit: int | None) -> None:
    """Refuse a training --limit below the number of classes (some would have no training
    image at all) from DATA's name or folder listing, before any image is read."""
    from dlcourse.vision.named_sets import peek_classes

    n_classes, _ = peek_classes(source)  # also every refusal of the folder's layout
    if limit is not None and limit < n_classes:
        raise DlcourseError(f"--limit {limit} is below the {n_classes} classes of {data}: give "
                            "every class a training image (--limit at least the number of "
                            "classes)")


def _check_classes(source: str, data: str, model_dir: str, model_classes: list[str]) -> None:
    """Refuse DATA with classes the model does not know, from its name or folder listing alone
    (nothing decoded); CIFAR-100's names come with its files, so there only the count."""
    from dlcourse.vision.named_sets import peek_classes

    n_classes, names = peek_classes(source, whole=True)  # photos of one class may be scored
    if not model_classes or (names is None and n_classes == len(model_classes)):
        return  # compared once the data is read (ImageClassifier.evaluate)
    # some of the model's classes, in any order, are scored as its own (ImageClassifier.evaluate)
    if names is None or not set(names) <= set(model_classes):
        raise DlcourseError(f"the classes of DATA {data} ({_class_list(names, n_classes)}) "
                            f"differ from the model's ({_class_list(model_classes)}); "
                            f"evaluate {model_dir} on data with its classes")


def _class_list(names: list[str] | None, n: int | None = None) -> str:
    if names is None:
        return f"{n} classes"
    shown = ", ".join(names[:5])
    return shown if len(names) <= 5 else f"{shown} ... {len(names)} in all"


def _check_out_outside(out: Path | None, source: str, data: str, verb: str) -> None:
    """Refuse an --out folder inside the image folder DATA: its figures (PNG files) would be
    read as images of a class named after the folder by the next scan of DATA."""
    if out is not None and source not in DATA_NAMES and \
            out.resolve().is_relative_to(Path(source).resolve()):
        raise DlcourseError(f"--out {out} is inside DATA {data}: a later scan would take it "
                            f"for a class of images; {verb} into a folder outside DATA")


def _load_data(source: str, image_size: int, seed: int, on_bad: str, limit: int | None,
               num_workers: int | None, with_train: bool = True, whole: bool = False):
    """(train, test) of DATA; ``with_train=False``: (None, test), a folder's training images
    left undecoded (evaluate); ``whole``: every image of a folder of class folders is a test
    image."""
    from dlcourse.vision.data import stratified_subset
    from dlcourse.vision.named_sets import load_named

    # image folders are decoded once at the training resolution; load_named warns about each
    # unreadable file
    train, test = load_named(source, size=image_size, seed=seed, on_bad=on_bad,
                             num_workers=num_workers, with_train=with_train, whole=whole)
    if limit:
        train = stratified_subset(train, limit, seed) if train is not None else None
        test = stratified_subset(test, limit, seed)
    return train, test


#: what ``evaluate --out`` writes (train writes metrics.json, confusion.png, misclassified.png)
EVALUATION_FILES = ("evaluation.json", "confusion_eval.png", "misclassified_eval.png")


def _report(clf, test, out: Path | None, names: tuple[str, str, str] = (
        "metrics.json", "confusion.png", "misclassified.png")) -> list[dict]:
    """Evaluate; with ``out`` write the metrics, the confusion matrix and the misclassified
    images under ``names`` (training's by default); return the rows to print.

    Under torchrun every rank evaluates its share (gathered on all ranks); only rank 0 writes.
    """
    from dlcourse.engine.distributed import is_main_process

    r = clf.evaluate(test)
    if not is_main_process():
        return []
    if out is not None:
        from dlcourse.engine.files import write_json
        from dlcourse.plots.common import plot_confusion_matrix
        from dlcourse.plots.vision import plot_misclassified

        # a class without test images has no accuracy: null (JSON has no NaN)
        per_class = {c: None if math.isnan(a) else a for c, a in zip(r.classes, r.per_class)}
        write_json(out / names[0], {**r.summary(), "n_test": len(test), "per_class": per_class})
        plot_confusion_matrix(r.confusion, r.classes, out / names[1])
        if (r.predictions != r.labels).any():
            plot_misclassified(test.images.numpy(), r.labels, r.predictions, r.classes,
                               out / names[2])
        else:  # none misclassified: an earlier run's figure would show another model's errors
            (out / names[2]).unlink(missing_ok=True)
    rows = [{"class": c, "accuracy": "n/a" if math.isnan(a) else a}
            for c, a in zip(r.classes, r.per_class)]
    rows.append({"class": "top-1 (all)", "accuracy": r.top1})
    if len(r.classes) > 5:  # with 5 classes or fewer every image is in its top 5
        rows.append({"class": "top-5 (all)", "accuracy": r.top5})
    return rows


@group.command(cls=OldSpellings, old_spellings=("--data",))
@click.argument("data", metavar="DATA")
@out_option
@TRAIN
@limit_option("training and this many test images")
@on_bad_option
@resume_option
@click.option("--dry-run", is_flag=True, help=f"At most {DRY_RUN_IMAGES} training and "
              f"{DRY_RUN_IMAGES} test images, 1 epoch, 32 px: check the set-up.")
def train(data, out, limit, on_bad, resume, dry_run, **options):
    """Train a classifier on DATA with an ImageNet backbone; save it to --out.

    DATA: cifar-10, cifar-100, fashion-mnist, mnist-5k, or an image folder (DIR/<class>/*.jpg,
    or DIR/train/<class>/... with DIR/val/<class>/...).

    Writes model.safetensors, metrics.json, figures and the checkpoint last.pt. Ctrl-C
    stops after the current batch and saves last.pt; the same command with --resume continues
    from that batch, to the model a run never stopped would end with.

    Runs unchanged under ``torchrun --nproc_per_node=N -m dlcourse vision train ...`` (gloo on
    CPU, nccl on CUDA): --batch-size is the global batch, split over the N processes, and rank 0
    prints and writes --out.
    """
    fixed = {"progress": True}
    typed = {**options, "limit": limit}
    if dry_run:
        check_dry_run_out(out, resume)
        fixed.update(epochs=1, image_size=32)
        limit = min(limit or DRY_RUN_IMAGES, DRY_RUN_IMAGES)
    config = TRAIN.build(options, **fixed)
    unused = [k for k in config.idle_settings() if options.get(k) is not None]
    if unused:  # typed, so the user expects them to matter
        names = ", ".join(option_name(k, TRAIN.rename) for k in unused)
        click.echo(f"note: --mode features does not use {names} (the backbone is frozen; "
                   "--mode finetune trains it)", err=True)
    check_batch_split(config.batch_size, *config.images_a_step())
    source = _data_source(data, typed=True)
    _check_out_outside(out, source, data, "train")
    check_device(config.device)
    from dlcourse.engine.distributed import is_main_process, process_group
    from dlcourse.vision.estimator import ImageClassifier
    from dlcourse.vision.training import check_resume
    from dlcourse.vision.weights import check_weights, fetch_weights

    # every check that can fail runs before any data is read: names, a weights file, the run
    # to resume, then pretrained weights (downloaded now, or refused offline with the fixes)
    check_weights(config.arch, config.weights)
    if resume:
        try:
            check_resume(out, {"lesson": "vision", "config": config.resume_values()}, config)
        except ConfigError as exc:
            raise option_error(exc, TRAIN.rename) from None
    _check_limit(source, data, typed["limit"])
    from dlcourse.data import fetch, get_dataset
    from dlcourse.data.fetch import downloads_off

    if source in DATA_NAMES and downloads_off() and not get_dataset(source).offline:
        # an online-only set missing offline is said first: the weights' fixes (another
        # --arch) would only lead to this error next
        fetch(source, download=False)
    fetch_weights(config.arch, config.weights)
    with process_group(config.device):
        main = is_main_process()
        if dry_run:  # every check passed: say which typed values the smoke test replaces
            note_dry_run(typed, {"epochs": 1, "image_size": 32, "limit": limit}, TRAIN.rename)
        train_set, test = _load_data(source, config.image_size or 224, config.seed, on_bad,
                                     limit, config.num_workers)
        if main:  # a progress message (stderr, none with -q), not a result
            logging.getLogger("dlcourse.cli").info(
                "%s: %d training, %d test images, %d classes; %s (%s), mode %s", source,
                len(train_set), len(test), len(train_set.classes), config.arch, config.weights,
                config.mode)
        clf = ImageClassifier(config)
        # what `vision evaluate MODEL_DIR` needs to find the same test images again, from any
        # working directory; fit writes it into the model file with the rest
        clf.metadata_ = {"data": source if source in DATA_NAMES else str(Path(source).resolve())}
        clf.fit(train_set, test, out_dir=out, resume=resume)
        rows = _report(clf, test, out)
        if main:
            echo_table(rows, floatfmt=".4f")
            click.echo(f"model saved to {out} (predict with: dlcourse vision predict {out} "
                       "IMAGE...)")
            if not dry_run:  # its one epoch is no advice
                _note_few_steps(config, len(train_set), typed_epochs=options.get("epochs"))


# fewer head steps than this left a few hundred images far below what more epochs reach
# (Fashion-MNIST, 240 images at 32 px: 0.43 after 20 steps, 0.65 after 60)
FEW_HEAD_STEPS = 100


def _note_few_steps(config, n_images: int, typed_epochs) -> None:
    """Say that a features-mode head took few optimizer steps, when ``--epochs`` was not
    typed: on a few hundred images the default epochs stop far short, and there an epoch
    of cached features costs next to nothing."""
    steps = -(-n_images // config.batch_size) * config.epochs
    if config.mode != "features" or typed_epochs is not None or steps >= FEW_HEAD_STEPS:
        return
    click.echo(f"note: the head took {steps} optimizer steps ({n_images} images, batch "
               f"{config.batch_size}, {config.epochs} epochs); with few images more --epochs "
               "help, and in --mode features an epoch of cached features takes well under a "
               "second", err=True)


@group.command(cls=OldSpellings, old_spellings=("--model", "--data"))
@model_dir_argument("vision")
@click.argument("data", required=False, metavar="[DATA]")
@limit_option("test images")
@on_bad_option
@click.option("--seed", type=click.IntRange(0, SEED_MAX), default=None,
              help="Seed of the test split (mnist-5k, folders without val/) [default: the "
                   "model's].")
@evaluation_out_option("confusion_eval.png", "misclassified_eval.png")
@device_option
def evaluate(model_dir, data, limit, on_bad, seed, out, device):
    """Top-1/top-5 and per-class accuracy of MODEL_DIR on the test images of DATA.

    DATA defaults to the data set the model was trained on (a folder: the images training held
    out); every image of a folder of class folders it did not train on is a test image, and
    those classes may be some of the model's. Prints a table; writes files only with --out.
    """
    from dlcourse.engine.persist import model_path, read_manifest

    manifest = read_manifest(model_path(model_dir))
    saved = manifest.get("metadata") or {}
    if data is None and not saved.get("data"):
        raise DlcourseError(f"{model_dir} does not say which data it was trained on; pass DATA")
    if data is None and not Path(saved["data"]).exists() and saved["data"] not in DATA_NAMES:
        raise DlcourseError(f"{model_dir} was trained on the folder {saved['data']}, which no "
                            "longer exists; pass DATA (where the images are now)")
    data = data if data is not None else saved["data"]
    source = _data_source(data)
    _check_out_outside(out, source, data, "evaluate")
    check_device(device)
    _check_classes(source, data, model_dir, (manifest.get("state") or {}).get("classes") or [])
    from dlcourse.vision.estimator import ImageClassifier

    clf = ImageClassifier.load(model_dir, device=device)
    from dlcourse.vision.named_sets import named_set

    split_seed = clf.config.seed if seed is None else seed
    trained_on = same_source(data, saved.get("data"), lambda name: named_set(name) is not None)
    seeded = _seeded_split(source)  # its test images are drawn by seed
    if split_seed != clf.config.seed and seeded and trained_on:
        click.echo(f"note: --seed {split_seed} draws another split of {data} than training's "
                   f"(seed {clf.config.seed}): its test images may include training images",
                   err=True)
    # a folder of class folders the model did not train on is scored whole, as classify
    # scores every row of a table; its training folder, on the part training held out
    whole = source not in DATA_NAMES and seeded and not trained_on
    _, test = _load_data(source, clf.image_size_, split_seed, on_bad, limit,
                         clf.config.num_workers, with_train=False, whole=whole)
    if whole:
        which = f"all {len(test):,} images of {data} (a folder the model did not train on)"
    elif trained_on and seeded:
        which = f"the {len(test):,} test images training held out of {data} (seed {split_seed})"
    else:
        which = f"the {len(test):,} test images of {data}"
    logging.getLogger("dlcourse.cli").info("scoring %s", which)
    echo_table(_report(clf, test, out, EVALUATION_FILES), floatfmt=".4f")
    if out is not None:
        written = [name for name in EVALUATION_FILES if (out / name).exists()]
        click.echo(f"{', '.join(written)} written to {out}")


def _seeded_split(source: str) -> bool:
    """True when the test images of ``source`` are drawn by seed: mnist-5k, and a folder of
    class folders without train/ and val/ (the other data sets have a test split of their own)."""
    from dlcourse.vision.named_sets import NAMED_SETS

    if source in NAMED_SETS:
        return source == "mnist-5k"
    return not (Path(source) / "train").is_dir()


def _check_image(path: Path) -> Path:
    """An IMAGE that PIL can read, checked before torch and the model load (PIL only)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()  # the header and the data's integrity, without decoding
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DlcourseError(f"IMAGE {path} is not an image file PIL can read ({reason}); give "
                            ".png, .jpg or other image files") from None
    return path


@group.command(cls=OldSpellings, old_spellings=("--model",))
@model_dir_argument("vision")
@click.argument("images", nargs=-1, required=True, metavar="IMAGE...")
@click.option("--top", "--top-k", "top_k", type=click.IntRange(min=1), default=5, show_default=True,
              help="Labels to show per image.")
@device_option
def predict(model_dir, images, top_k, device):
    """Top-k labels with probabilities for image files."""
    if not all(p.strip() for p in images):  # Path("") is ".", named as a directory
        raise DlcourseError("an IMAGE is empty (''); give image files")
    paths = [_check_image(check_input_file(p, "IMAGE")) for p in images]
    check_device(device)
    from dlcourse.vision.estimator import ImageClassifier

    clf = ImageClassifier.load(model_dir, device=device)
    rows = []
    for path, preds in zip(paths, clf.predict_top(paths, k=top_k)):
        for rank, (label, p) in enumerate(preds, 1):
            rows.append({"image": str(path) if rank == 1 else "", "rank": rank, "label": label,
                         "probability": p})
    echo_table(rows, floatfmt=".3f")
