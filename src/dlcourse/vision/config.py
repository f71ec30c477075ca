"""The settings of a transfer-learning run: one dataclass, every default once (torch-free).

``dlcourse vision train`` builds its options from these fields and
:class:`~dlcourse.vision.estimator.ImageClassifier` validates them when ``fit`` starts, so the
Python API and the command line refuse the same values with the same message.

Example:
    >>> TransferConfig(mode="finetune", lr=0.01).validate().backbone_lr_mult
    0.1
    >>> TransferConfig(label_smoothing=1.0).validate()
    Traceback (most recent call last):
    ...
    dlcourse.errors.ConfigError: label_smoothing must be < 1, got 1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from dlcourse.engine.config import MAX_EPOCHS, SEED_MAX, Config, param
from dlcourse.errors import ConfigError

TORCHVISION_ARCHS = ("resnet18", "resnet34", "resnet50", "mobilenet_v3_small",
                     "mobilenet_v3_large", "efficientnet_b0", "convnext_tiny")
ARCHS = (*TORCHVISION_ARCHS, "efficientnet_lite0")
MODES = ("features", "finetune")
OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "step", "none")
UNFREEZE = ("none", "gradual")
# settings that change how fast a run goes, never what it computes: a resumed run may change them
SPEED_ONLY = ("num_workers", "feature_cache", "progress")
# checked before any work: a larger value fails late (a 100,000 px square needs terabytes)
MAX_IMAGE_SIZE = 1024
# each worker is a process: a billion of them never started, and hung the run before that
MAX_WORKERS = 256


@dataclass
class TransferConfig(Config):
    """Every hyper-parameter of a transfer-learning run (plain values: saved with the model).

    ``mode="features"`` freezes the backbone, computes its features once (cached on disk) and
    trains only the new linear head: quick on a CPU. ``mode="finetune"`` trains the whole
    network, the backbone at ``lr * backbone_lr_mult``; with ``unfreeze="gradual"`` the backbone
    starts frozen and one more of its ``unfreeze_groups`` chunks (from the head side) thaws
    each epoch.
    """

    resume_free: ClassVar[tuple[str, ...]] = SPEED_ONLY
    aliases: ClassVar[dict[str, str]] = {"learning_rate": "lr"}  # the SOM's, scikit-learn's

    arch: str = param("resnet18", "Backbone architecture.", choices=ARCHS)
    weights: str = param(
        "imagenet", "Backbone weights: imagenet, none (random), a torchvision enum name such as "
        "IMAGENET1K_V2, or the PATH of a state-dict file of the architecture.")
    mode: str = param("features", "features: frozen backbone, train the head on cached "
                      "features; finetune: train the whole network.", choices=MODES)
    image_size: int | None = param(
        None, "Training resolution in px (none: the weights' own, 224); 32-96 is practical on "
        "a CPU.", min=8, max=MAX_IMAGE_SIZE)
    epochs: int = param(5, "Passes over the training images.", min=1, max=MAX_EPOCHS)
    batch_size: int = param(64, "Images per optimizer step (the global batch under torchrun).",
                            min=1)
    optimizer: str = param("sgd", "Optimizer.", choices=OPTIMIZERS)
    # 0.001 (the PyTorch tutorial's, for 8,000 steps) left a few hundred images near chance:
    # 0.01 is what torchvision's fine-tuning recipes and bench_vision's CIFAR-10 run take
    lr: float = param(0.01, "Learning rate of the head.", min=0.0, exclusive_min=True,
                      max=10.0)
    momentum: float = param(0.9, "SGD momentum.", min=0.0, max=1.0)
    weight_decay: float = param(0.0, "Weight decay (L2 for SGD, decoupled for AdamW).", min=0.0,
                                max=10.0)
    backbone_lr_mult: float = param(0.1, "Backbone learning rate = lr x this (finetune).",
                                    min=0.0, max=100.0)
    unfreeze: str = param("none", "gradual: the backbone starts frozen and thaws one chunk per "
                          "epoch from the head side (finetune).", choices=UNFREEZE)
    unfreeze_groups: int = param(4, "Backbone chunks gradual unfreezing thaws, one per epoch.",
                                 min=1)
    schedule: str = param("cosine", "Learning-rate schedule over the epochs.", choices=SCHEDULES)
    step_size: int = param(3, "Epochs between learning-rate drops (schedule step).", min=1)
    gamma: float = param(0.1, "Learning-rate factor at each drop (schedule step).", min=0.0,
                         max=1.0, exclusive_min=True)
    label_smoothing: float = param(0.0, "Label smoothing of the cross-entropy loss, in [0, 1).",
                                   min=0.0)
    augment: bool = param(True, "Random crop and flip of the training images (finetune).")
    hflip: bool = param(True, "Allow horizontal flips when augmenting (turn them off for "
                        "digits and text, where a flipped 2 is no 2).")
    amp: bool = param(True, "Mixed precision on CUDA (bf16 where supported), training and "
                      "evaluation alike.")
    channels_last: bool = param(True, "channels_last memory layout on CUDA (faster convolutions).")
    feature_cache: bool = param(True, "Cache backbone features on disk (features mode).")
    precise_bn: int = param(
        1000, "Before each evaluation and at the end of finetune, recompute the batch-norm "
        "statistics on up to this many training images (0: off).", min=0)
    sync_bn: bool = param(False, "Under torchrun on CUDA: batch norm with the statistics of the "
                          "global batch (SyncBatchNorm).")
    num_workers: int | None = param(
        None, "DataLoader worker processes that batch (and decode) images; none: 0 on a CPU, "
        "where batching in-memory images costs less than the workers, up to 8 on a GPU. Batch "
        "order does not depend on it.", min=0, max=MAX_WORKERS)
    deterministic: bool = param(
        False, "Deterministic cuDNN kernels on CUDA (slower; CPU runs are reproducible "
        "either way).")
    seed: int = param(0, "Random seed (weights of the head, batch order, augmentation).", min=0,
                      max=SEED_MAX)
    device: str = param("auto", "auto (GPU when present), cpu, cuda, cuda:N or mps.")
    progress: bool = param(False, "Show progress bars.", cli=False)

    def idle_settings(self) -> tuple[str, ...]:
        """Features mode trains the head alone: the backbone's settings are unread."""
        return ("backbone_lr_mult", "unfreeze_groups") if self.mode == "features" else ()

    def check(self) -> None:
        """Rules a single field's range cannot express."""
        if not str(self.weights).strip():  # it was read as the PATH "." (a folder)
            raise ConfigError("weights is empty; give imagenet, none, a torchvision enum name "
                              "such as IMAGENET1K_V2, or the PATH of a state-dict file",
                              "weights")
        if self.arch == "convnext_tiny" and self.image_size is not None and self.image_size < 32:
            # its 4x4 stem and three 2x2 downsamplings need a 32 px input at least
            raise ConfigError(f"convnext_tiny needs image_size >= 32, got {self.image_size}",
                              "image_size")
        if self.label_smoothing >= 1.0:
            raise ConfigError(f"label_smoothing must be < 1, got {self.label_smoothing}",
                              "label_smoothing")
        if self.unfreeze == "gradual" and self.mode != "finetune":
            raise ConfigError("unfreeze gradual needs mode finetune (features mode never "
                              "trains the backbone)", "unfreeze")
        if self.mode == "finetune" and self.batch_size < 2:
            # batch norm trains on a batch's statistics: one image has no spread (torch stops
            # mid-epoch once a feature map is 1x1)
            raise ConfigError(f"batch_size must be >= 2 with mode finetune (batch norm needs "
                              f"two images a batch), got {self.batch_size}", "batch_size")

    def images_a_step(self) -> tuple[int, str]:
        """The fewest images one torchrun process may train on a step, and why (for
        ``check_global_batch``): batch norm needs two in mode finetune."""
        return (2, "mode finetune's batch norm needs") if self.mode == "finetune" else (1, "")

    def epochs_span(self) -> tuple[str, str] | None:
        """The cosine schedule's cycle spans the epochs the run started with; the step and none
        schedules do not depend on the total (see :meth:`Config.epochs_span`)."""
        if self.schedule == "cosine":
            return "cosine learning-rate schedule", "schedules step and none"
        return None
