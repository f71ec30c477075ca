"""`dlcourse vision`: train, evaluate and use transfer-learning image classifiers."""

from __future__ import annotations

from pathlib import Path

import click

from dlcourse.cli.common import device_option, echo_table, out_option, seed_option

group = click.Group("vision", help="Transfer learning: ImageNet backbones on your images.")

ARCH_CHOICES = ("resnet18", "resnet34", "resnet50", "mobilenet_v3_small", "mobilenet_v3_large",
                "efficientnet_b0", "convnext_tiny", "efficientnet_lite0")
DRY_RUN_IMAGES = 32


def _load_data(data: str, image_size: int | None, seed: int, on_bad: str, limit: int | None,
               dry_run: bool):
    from dlcourse.vision.data import load_named, stratified_subset

    # image folders are decoded once at the training resolution (224 unless --image-size)
    train, test = load_named(data, size=image_size or 224, seed=seed, on_bad=on_bad)
    skipped = train.skipped + test.skipped
    if skipped:
        click.echo(f"skipped {len(skipped)} unreadable image file(s), e.g. {skipped[0]}", err=True)
    n = DRY_RUN_IMAGES if dry_run else limit
    if n:
        train = stratified_subset(train, n, seed)
        test = stratified_subset(test, n, seed)
    return train, test


def _report(clf, test, out: Path) -> list[dict]:
    """Evaluate, write metrics.json, the confusion matrix and misclassified grid; rows to print.

    Under torchrun every rank evaluates its share (the result is gathered on all ranks); only
    rank 0 writes the files.
    """
    from dlcourse.engine import write_json
    from dlcourse.engine.distributed import is_main_process
    from dlcourse.plots.common import plot_confusion_matrix
    from dlcourse.plots.vision import plot_misclassified

    r = clf.evaluate(test)
    if not is_main_process():
        return []
    write_json(out / "metrics.json", {**r.summary(), "n_test": len(test),
                                      "per_class": dict(zip(r.classes, r.per_class))})
    plot_confusion_matrix(r.confusion, r.classes, out / "confusion.png")
    if (r.predictions != r.labels).any():
        plot_misclassified(test.images.numpy(), r.labels, r.predictions, r.classes,
                           out / "misclassified.png")
    rows = [{"class": c, "accuracy": f"{a:.3f}"} for c, a in zip(r.classes, r.per_class)]
    rows.append({"class": "top-1 (all)", "accuracy": f"{r.top1:.4f}"})
    rows.append({"class": "top-5 (all)", "accuracy": f"{r.top5:.4f}"})
    return rows


@group.command()
@click.option("--data", default="fashion-mnist", show_default=True,
              help="cifar10, cifar100, fashion-mnist, mnist-5k, or an image folder DIR.")
@click.option("--arch", type=click.Choice(ARCH_CHOICES), default="resnet18", show_default=True)
@click.option("--weights", default="imagenet", show_default=True,
              help="imagenet, a torchvision enum name (IMAGENET1K_V2), a state-dict PATH, or none.")
@click.option("--mode", type=click.Choice(["features", "finetune"]), default="features",
              show_default=True, help="features: frozen backbone, train the head on cached "
              "features; finetune: train everything.")
@click.option("--epochs", type=int, default=5, show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--lr", type=float, default=0.001, show_default=True)
@click.option("--momentum", type=float, default=0.9, show_default=True)
@click.option("--weight-decay", type=float, default=0.0, show_default=True)
@click.option("--optimizer", type=click.Choice(["sgd", "adamw"]), default="sgd", show_default=True)
@click.option("--schedule", type=click.Choice(["cosine", "step", "none"]), default="cosine",
              show_default=True)
@click.option("--backbone-lr-mult", type=float, default=0.1, show_default=True,
              help="Backbone learning rate = lr x this (finetune).")
@click.option("--unfreeze", type=click.Choice(["none", "gradual"]), default="none",
              show_default=True, help="gradual: thaw one backbone chunk per epoch (finetune).")
@click.option("--label-smoothing", type=float, default=0.0, show_default=True)
@click.option("--image-size", type=int, default=None,
              help="Training resolution in px [default: the weights' own, 224]; 64-96 on a CPU.")
@click.option("--no-augment", is_flag=True, help="No random crop/flip in finetune mode.")
@click.option("--no-flip", is_flag=True, help="Random crop only (digits).")
@click.option("--sync-bn", is_flag=True,
              help="Under torchrun on CUDA: BatchNorm with the global batch's statistics.")
@click.option("--limit", type=int, default=None, help="Use this many training and test images.")
@click.option("--on-bad", type=click.Choice(["skip", "stop"]), default="skip", show_default=True,
              help="Unreadable image files in a folder: skip them (counted) or stop.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from last.pt.")
@click.option("--dry-run", is_flag=True, help="32 images, 1 epoch, 32 px: check the set-up.")
@out_option
@device_option
@seed_option
def train(data, arch, weights, mode, epochs, batch_size, lr, momentum, weight_decay, optimizer,
          schedule, backbone_lr_mult, unfreeze, label_smoothing, image_size, no_augment, no_flip,
          sync_bn, limit, on_bad, resume, dry_run, out, device, seed):
    """Train a classifier on --data with an ImageNet backbone; save it to --out.

    Runs unchanged under ``torchrun --nproc_per_node=N -m dlcourse vision train ...`` (gloo on
    CPU, nccl on CUDA): --batch-size is the global batch, split over the N processes, and rank 0
    prints and writes --out.
    """
    from dlcourse.engine.distributed import (
        init_distributed,
        is_main_process,
        shutdown_distributed,
    )
    from dlcourse.vision.transfer import ImageClassifier, TransferConfig

    out = Path(out)
    if dry_run:
        epochs, image_size = 1, 32
    config = TransferConfig(
        arch=arch, weights=weights, mode=mode, image_size=image_size, epochs=epochs,
        batch_size=batch_size, optimizer=optimizer, lr=lr, momentum=momentum,
        weight_decay=weight_decay, backbone_lr_mult=backbone_lr_mult, unfreeze=unfreeze,
        schedule=schedule, label_smoothing=label_smoothing, augment=not no_augment,
        hflip=not no_flip, sync_bn=sync_bn, seed=seed, device=device, progress=True)
    init_distributed(device)
    try:
        main = is_main_process()
        train_set, test = _load_data(data, image_size, seed, on_bad, limit, dry_run)
        if main:
            click.echo(f"{data}: {len(train_set)} training, {len(test)} test images, "
                       f"{len(train_set.classes)} classes; {arch} ({weights}), mode {mode}")
        clf = ImageClassifier(config).fit(train_set, test, out_dir=out, resume=resume)
        clf.save(out)
        rows = _report(clf, test, out)
        if main:
            echo_table(rows)
            click.echo(f"model saved to {out} "
                       f"(predict with: dlcourse vision predict --model {out} IMG...)")
    finally:
        shutdown_distributed()


@group.command()
@click.option("--model", "model_dir", required=True, type=click.Path(path_type=Path),
              help="Directory written by `dlcourse vision train`.")
@click.option("--data", default="fashion-mnist", show_default=True,
              help="The data set the model was trained for (its test split is used).")
@click.option("--limit", type=int, default=None, help="Evaluate on this many test images.")
@click.option("--on-bad", type=click.Choice(["skip", "stop"]), default="skip", show_default=True)
@click.option("--dry-run", is_flag=True, help="Evaluate 32 images only.")
@out_option
@device_option
@seed_option
def evaluate(model_dir, data, limit, on_bad, dry_run, out, device, seed):
    """Top-1/top-5 and per-class accuracy, confusion matrix and misclassified images."""
    from dlcourse.vision.transfer import ImageClassifier

    clf = ImageClassifier.load(model_dir, device=device)
    _, test = _load_data(data, clf.image_size, seed, on_bad, limit, dry_run)
    out = Path(out)
    echo_table(_report(clf, test, out))
    click.echo(f"metrics.json, confusion.png, misclassified.png written to {out}")


@group.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "model_dir", required=True, type=click.Path(path_type=Path),
              help="Directory written by `dlcourse vision train`.")
@click.option("--top-k", type=int, default=5, show_default=True)
@device_option
def predict(images, model_dir, top_k, device):
    """Top-k labels with probabilities for image files."""
    from dlcourse.vision.transfer import ImageClassifier

    clf = ImageClassifier.load(model_dir, device=device)
    rows = []
    for path, preds in zip(images, clf.predict(images, k=top_k)):
        for rank, (label, p) in enumerate(preds, 1):
            rows.append({"image": str(path) if rank == 1 else "", "rank": rank, "label": label,
                         "probability": f"{p:.3f}"})
    echo_table(rows)
