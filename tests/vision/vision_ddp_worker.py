"""Run by the vision distributed tests under torchrun: trains ``ImageClassifier`` in features and
finetune mode and runs ``dlcourse vision train --dry-run``; saves this rank's weights and metrics.
Not a test module itself.

    python -m torch.distributed.run --standalone --nproc_per_node=2 vision_ddp_worker.py OUT
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

import dlcourse.vision.features as features
from dlcourse.cli.main import main as cli
from dlcourse.engine.distributed import init_distributed, rank, shutdown_distributed
from dlcourse.vision.config import TransferConfig
from dlcourse.vision.data import ArrayImageDataset, stratified_subset
from dlcourse.vision.estimator import ImageClassifier
from dlcourse.vision.named_sets import FASHION_MNIST_CLASSES

# features mode: shared with the single-process runs of test_distributed.py
FEATURES = dict(arch="efficientnet_lite0", weights="imagenet", mode="features", image_size=32,
                epochs=2, batch_size=32, optimizer="sgd", lr=0.05, schedule="none", device="cpu")
FINETUNE = dict(arch="efficientnet_lite0", weights="none", mode="finetune", image_size=16,
                epochs=2, batch_size=16, unfreeze="gradual", unfreeze_groups=2, precise_bn=32,
                augment=False, device="cpu")


def fashion(n_train: int = 128, n_valid: int = 64) -> tuple[ArrayImageDataset, ArrayImageDataset]:
    """Disjoint class-balanced Fashion-MNIST subsets of the test split (offline)."""
    from dlcourse.data.readers import read_fashion_mnist

    x, y = read_fashion_mnist("test")
    ds = ArrayImageDataset(x, y, FASHION_MNIST_CLASSES)
    train = stratified_subset(ds.subset(np.arange(5000)), n_train, seed=0)
    valid = stratified_subset(ds.subset(np.arange(5000, 10000)), n_valid, seed=1)
    return train, valid


def run(out: Path) -> None:
    torch.set_num_threads(1)
    init_distributed("cpu")
    features.feature_cache_dir = lambda: out / "feature_cache"   # rank 0 writes, rank 1 reads
    train, valid = fashion()
    r = rank()

    clf = ImageClassifier(TransferConfig(**FEATURES)).fit(train, valid, out_dir=out / "features")
    result = clf.evaluate(valid)                                  # collective: gathered logits
    torch.save({"head": clf.model_.head.state_dict(), "history": clf.history_,
                "top1": result.top1, "confusion": torch.from_numpy(result.confusion)},
               out / f"features{r}.pt")

    ft = ImageClassifier(TransferConfig(**FINETUNE)).fit(train.subset(np.arange(64)), valid)
    torch.save({"model": ft.model_.state_dict(), "history": ft.history_}, out / f"finetune{r}.pt")

    try:                                   # the CLI joins the existing group and leaves it up
        cli(["vision", "train", "fashion-mnist", "--dry-run", "--arch", "efficientnet_lite0",
             "--weights", "none", "--mode", "finetune", "--batch-size", "16", "--device", "cpu",
             "--out", str(out / "cli")])
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    shutdown_distributed()


if __name__ == "__main__":
    run(Path(sys.argv[1]))
