"""Fine-tuning on a device without network: images/s and short-run accuracy, CIFAR-10 projected.

The GPU target of issue 17 (ResNet18 from ImageNet weights on CIFAR-10, ``bench_vision.py
--cifar10``) needs CIFAR-10 and the ResNet18 weights, which an offline machine lacks. This runs
what it can of it on Fashion-MNIST's 10,000 test images (read as raw IDX files: the data pack
holds no training file), split class-balanced into ``--train`` / ``--test``, with the CIFAR-10
recipe's settings (finetune, SGD momentum 0.9, lr 0.01, weight decay 5e-4, backbone lr x 1,
cosine, label smoothing 0.1, bf16 autocast and channels_last on CUDA, batch 128, 224 px):

* ``efficientnet_lite0`` from its ImageNet weights (in the offline cache): images/s and the
  accuracy after a few epochs;
* ``resnet18`` from random weights (the ImageNet ones are online only): its images/s, which
  the weights do not change, projected onto CIFAR-10's 50,000 training images per epoch.

The images are 28x28 grey; resizing to ``--size`` and grey-to-RGB run per batch on the device,
so a step costs what a CIFAR-10 step at that size costs.

    PYTHONPATH=src python3 benchmarks/gpu/vision_offline.py --fashion DIR --device cuda
        [--runs efficientnet_lite0:imagenet:3,resnet18:none:2] [--train 8000] [--test 2000]
        [--size 224] [--batch 128] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

CIFAR10_TRAIN = 50_000


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fashion", type=Path, required=True, help="folder of the t10k IDX files")
    p.add_argument("--device", default="cuda")
    p.add_argument("--runs", default="efficientnet_lite0:imagenet:3,resnet18:none:2",
                   help="ARCH:WEIGHTS:EPOCHS, comma-separated")
    p.add_argument("--train", type=int, default=8000, help="training images (class-balanced)")
    p.add_argument("--test", type=int, default=2000, help="held-out images (class-balanced)")
    p.add_argument("--size", type=int, default=224, help="training resolution in px")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--json", type=Path, help="write the rows here")
    return p.parse_args()


def datasets(folder: Path, n_train: int, n_test: int):
    """(train, test) ArrayImageDatasets from the t10k files, disjoint and class-balanced."""
    from dlcourse.data.readers import read_idx
    from dlcourse.vision.data import ArrayImageDataset, split_stratified, stratified_subset
    from dlcourse.vision.named_sets import FASHION_MNIST_CLASSES

    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")              # (10000, 28, 28)
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz").astype("int64")
    train_idx, test_idx = split_stratified(labels, 0.2, seed=0)
    whole = ArrayImageDataset(images, labels, FASHION_MNIST_CLASSES)
    return (stratified_subset(whole.subset(train_idx), n_train, seed=0),
            stratified_subset(whole.subset(test_idx), n_test, seed=1))


def main() -> None:
    args = parse_args()
    import torch

    from dlcourse.vision.estimator import ImageClassifier

    train, test = datasets(args.fashion, args.train, args.test)
    print(f"Fashion-MNIST t10k: {len(train)} train / {len(test)} test images, {args.size} px, "
          f"batch {args.batch}, device {args.device}, torch {torch.__version__}")
    rows = []
    for run in args.runs.split(","):
        arch, weights, epochs = run.split(":")
        clf = ImageClassifier(arch=arch, weights=weights, mode="finetune", image_size=args.size,
                              epochs=int(epochs), batch_size=args.batch, optimizer="sgd",
                              lr=0.01, momentum=0.9, weight_decay=5e-4, backbone_lr_mult=1.0,
                              schedule="cosine", label_smoothing=0.1, device=args.device)
        start = time.perf_counter()
        clf.fit(train, test)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        result = clf.evaluate(test)
        eval_per_s = len(test) / (time.perf_counter() - start)
        per_epoch = [h["items_per_s"] for h in clf.history_]
        best = max(per_epoch)  # the first epoch carries cuDNN's autotuning and the workers' start
        row = {"arch": arch, "weights": weights, "epochs": len(clf.history_),
               "device": str(clf.device_), "image_size": args.size, "batch": args.batch,
               "train_images": len(train), "test_images": len(test),
               "train_images_per_s": per_epoch, "eval_images_per_s": eval_per_s,
               "fit_seconds": fit_seconds, "top1": result.top1, "top5": result.top5,
               "history": clf.history_,
               "cifar10_epoch_seconds_projected": CIFAR10_TRAIN / best}
        rows.append(row)
        print(f"{arch} ({weights}) on {row['device']}: {row['epochs']} epochs in "
              f"{fit_seconds:.1f} s; train img/s per epoch {[round(r) for r in per_epoch]}, "
              f"eval {eval_per_s:.0f} img/s; top-1 {result.top1:.4f} (top-5 {result.top5:.4f}); "
              f"a CIFAR-10 epoch (50,000 images) at the best rate: "
              f"{row['cifar10_epoch_seconds_projected']:.0f} s", flush=True)
        if args.json:  # after every run: a step cut by its time limit keeps what it measured
            args.json.write_text(json.dumps({"rows": rows}, indent=1, default=float))


if __name__ == "__main__":
    main()
