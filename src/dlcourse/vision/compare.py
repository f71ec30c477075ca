"""Pretrained features against training from scratch over growing training sets (learning curves).

Both methods use the same network (EfficientNet-Lite0 by default), the same training images and
the same number of epochs over them; only the starting weights and what trains differ:

- ``pretrained``: ImageNet weights, frozen; a linear head trained on the cached features.
- ``scratch``: random weights; the whole network trains (AdamW, augmentation).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from dlcourse.errors import InputError
from dlcourse.vision.config import TransferConfig
from dlcourse.vision.data import ArrayImageDataset, stratified_subset
from dlcourse.vision.estimator import ImageClassifier

log = logging.getLogger(__name__)

METHODS = ("pretrained", "scratch")


def method_config(method: str, *, arch: str = "efficientnet_lite0", image_size: int = 32,
                  epochs: int = 5, head_epochs: int = 30, seed: int = 0,
                  device: str = "auto", feature_cache: bool = True) -> TransferConfig:
    """The training set-up of one method of the comparison (see the module docstring)."""
    if method == "pretrained":
        return TransferConfig(arch=arch, weights="imagenet", mode="features",
                              image_size=image_size, epochs=head_epochs, optimizer="adamw",
                              lr=3e-3, weight_decay=1e-4, batch_size=64, seed=seed, device=device,
                              feature_cache=feature_cache)
    if method == "scratch":
        return TransferConfig(arch=arch, weights="none", mode="finetune", image_size=image_size,
                              epochs=epochs, optimizer="adamw", lr=2e-3, weight_decay=1e-4,
                              backbone_lr_mult=1.0, batch_size=32, seed=seed, device=device)
    raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def learning_curve(train: ArrayImageDataset, test: ArrayImageDataset, sizes: Sequence[int], *,
                   methods: Sequence[str] = METHODS, keep: bool = False,
                   **config_kwargs) -> tuple[list[dict], dict]:
    """Test accuracy of each method trained on ``n`` images (class-balanced) for ``n`` in ``sizes``.

    Returns ``(rows, models)``: rows ``{"method", "n_train", "accuracy", "top5", "seconds"}`` and,
    with ``keep``, the classifiers trained on the largest size ``{method: ImageClassifier}``.
    ``config_kwargs`` go to :func:`method_config` (image_size, epochs, head_epochs, seed, device,
    feature_cache).
    """
    rows, models = [], {}
    for n in sorted(sizes):
        subset = stratified_subset(train, n, seed=config_kwargs.get("seed", 0))
        for method in methods:
            start = time.perf_counter()
            clf = ImageClassifier(method_config(method, **config_kwargs)).fit(subset)
            seconds = time.perf_counter() - start
            r = clf.evaluate(test)
            rows.append({"method": method, "n_train": len(subset), "accuracy": r.top1,
                         "top5": r.top5, "seconds": seconds})
            log.info("%s n=%d: accuracy %.3f (%.1f s)", method, len(subset), r.top1, seconds)
            if keep and n == max(sizes):
                models[method] = clf
    return rows, models
