"""The two training modes as plain functions: a linear head on fixed features, and fine-tuning.

Both hand their epochs to :func:`dlcourse.engine.fit` (checkpoints, exact resume, Ctrl-C,
early stopping); they supply the step, the evaluation and the batches:

- The batch order comes from the epoch alone: a ``DistributedSampler`` seeded by ``seed``,
  whose ``set_epoch`` the engine calls, also for one process. So a run resumed in the middle of
  an epoch draws the same batches, and N processes (rank r takes items r, r + N, ... of every
  global batch) take the same steps as one process with the whole batch.
- Random augmentation is drawn inside the training step, on the training device, never in a
  DataLoader worker: the engine's saved RNG state then fixes it, and resume is exact.

Under torchrun the model is wrapped in DistributedDataParallel (``engine.distributed``); in
``features`` mode only the head is (the backbone is frozen and ran before training). Validation
metrics come from the logits of every rank gathered in order, so all ranks agree (and stop at
the same epoch). Every rank is seeded alike, so the random crops and flips repeat across the
ranks' (different) images of a step.

BatchNorm under DDP: each rank normalises with the statistics of its own per-rank batch, and DDP
copies rank 0's running averages to the others before each forward pass, so ``finetune`` with BN
backbones is close to, not exactly, one process with the global batch. ``sync_bn`` (CUDA only)
normalises with the statistics of the global batch; ``precise_bn`` recomputes the running
averages the same way on every rank.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, TensorDataset

from dlcourse.engine.distributed import (
    active_ranks,
    distributed_sampler,
    wrap_model,
)
from dlcourse.engine.fitting import fit, load_resume_state
from dlcourse.engine.loop import unwrap
from dlcourse.engine.persist import check_resume_epochs
from dlcourse.vision.config import TransferConfig
from dlcourse.vision.metrics import evaluation_from_logits
from dlcourse.vision.models import TransferNet, backbone_groups
from dlcourse.vision.pipeline import Pipeline, logits_of, recalibrate_batchnorm

log = logging.getLogger(__name__)


def make_optimizer(config: TransferConfig, groups: list[dict]) -> torch.optim.Optimizer:
    """SGD with momentum or AdamW over parameter ``groups`` (each may set its own ``lr``)."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(config: TransferConfig, optimizer: torch.optim.Optimizer):
    """The epoch-wise learning-rate schedule of ``config.schedule`` (None for "none")."""
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.step_size,
                                               gamma=config.gamma)
    return None


def check_resume(out_dir: str | Path, extra: dict, config: TransferConfig) -> None:
    """Refuse ``resume`` before any work: what ``fit`` checks when it loads ``last.pt``
    (:func:`~dlcourse.engine.fitting.load_resume_state`, given ``fit``'s ``checkpoint_extra``),
    and other ``epochs`` under the cosine schedule.

    The engine lets a resumed run change ``epochs``, which suits the step and none schedules
    (their learning rate at an epoch does not depend on the total); the cosine schedule spans
    the epochs the run started with, so with other epochs the resumed run would restart its
    cycle and equal no uninterrupted run.

    Raises:
        DlcourseError: as ``load_resume_state``; ConfigError naming ``epochs`` and the schedule.
    """
    state = load_resume_state(Path(out_dir), extra)
    check_resume_epochs((state.get("config") or {}).get("epochs"), config, out_dir)


def train_batches(ds: Dataset, batch_size: int, seed: int, *, num_workers: int = 0,
                  pin_memory: bool = False) -> DataLoader:
    """This rank's shuffled training batches of ``batch_size / world`` items.

    The permutation depends on the seed and the epoch only (the engine calls ``set_epoch``).
    One process gets the same sampler with one replica, so its batches are the union of the
    ranks' batches of a distributed run. Workers only stack in-memory images (no randomness),
    so their number never changes the batches.
    """
    rank, world = active_ranks()
    sampler = distributed_sampler(ds, shuffle=True, seed=seed) or DistributedSampler(
        ds, num_replicas=1, rank=0, shuffle=True, seed=seed)
    per_rank = batch_size // world
    # a last batch of one image cannot train BatchNorm (torch refuses a single value per
    # channel once the feature map is 1x1, as it is at small image sizes): leave that image
    # out of this epoch (another one each epoch, the order being shuffled). Every rank's share
    # has the same length, so the ranks drop alike.
    single = len(sampler) % per_rank == 1 and len(sampler) > 1
    # not persistent: every epoch's iterator then draws its workers' base seed from the global
    # RNG at the same point whatever the number of workers, so the augmentation that follows
    # (and a resumed epoch) sees the same random numbers; re-forking costs well under a second
    return DataLoader(ds, batch_size=per_rank, sampler=sampler, drop_last=single,
                      num_workers=num_workers, pin_memory=pin_memory)


def train_head(head: nn.Linear, feats: torch.Tensor, labels: torch.Tensor,
               valid: tuple[torch.Tensor, torch.Tensor] | None, config: TransferConfig,
               device: torch.device, **fit_options) -> list[dict]:
    """Train the linear ``head`` on fixed features (N, D) with integer ``labels`` (N,).

    Args:
        valid: (features, labels) evaluated after each epoch, or None.
        fit_options: passed to :func:`dlcourse.engine.fit` (``out_dir``, ``resume``,
            ``checkpoint_extra``).

    Returns:
        The per-epoch history.
    """
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    # the features are in memory: worker processes would only add start-up and copies
    loader = train_batches(TensorDataset(feats, labels), config.batch_size, config.seed)

    def step(model, batch):
        f, y = batch                                             # (B, D), (B,)
        return criterion(model(f), y), len(y)

    evaluate_fn = None
    if valid is not None:
        valid_feats, valid_labels = (t.to(device) for t in valid)

        def evaluate_fn(model):
            # every rank holds all features and the same head: the metrics agree as they are
            with torch.no_grad():
                logits = unwrap(model)(valid_feats)              # (N, K)
            return {"valid_loss": F.cross_entropy(logits, valid_labels).item(),
                    "valid_acc": (logits.argmax(1) == valid_labels).float().mean().item()}

    opt = make_optimizer(config, [{"params": head.parameters()}])
    return fit(wrap_model(head, device), loader, step, opt, config.epochs, evaluate_fn=evaluate_fn,
               scheduler=make_scheduler(config, opt), device=device, amp=False, desc="head",
               progress=config.progress, **fit_options)


def gradual_unfreezer(backbone: nn.Module, n_groups: int) -> Callable[[int], None]:
    """``on_epoch_start`` for gradual unfreezing: epoch 0 trains the head only, epoch e the
    last e of the backbone's ``n_groups`` chunks as well (a resumed epoch sets the same)."""
    chunks = backbone_groups(backbone, n_groups)

    def on_epoch_start(epoch: int) -> None:
        thawed = len(chunks) - min(epoch, len(chunks))
        for i, chunk in enumerate(chunks):
            for p in chunk:
                p.requires_grad_(i >= thawed)
        log.info("epoch %d: %d of %d backbone chunks trainable", epoch + 1,
                 len(chunks) - thawed, len(chunks))

    return on_epoch_start


def finetune(net: TransferNet, train: Dataset, valid: Dataset | None, pipe: Pipeline,
             config: TransferConfig, **fit_options) -> list[dict]:
    """Train the whole ``net`` (head at ``lr``, backbone at ``lr * backbone_lr_mult``).

    Before each evaluation and at the end the batch-norm statistics are recomputed on up to
    ``config.precise_bn`` training images (:func:`recalibrate_batchnorm`).

    Args:
        pipe: how images reach ``net``; its training copy adds the random crop and flip.
        fit_options: passed to :func:`dlcourse.engine.fit`.

    Returns:
        The per-epoch history.
    """
    pre = pipe.training_preprocess()
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    groups = [{"params": list(net.head.parameters()), "lr": config.lr},
              {"params": list(net.backbone.parameters()),
               "lr": config.lr * config.backbone_lr_mult}]
    opt = make_optimizer(config, groups)

    def step(model, batch):
        images, y = batch                                        # (B, C, H, W) uint8, (B,)
        return criterion(model(pipe.prepare(images, pre)), y), len(y)

    def evaluate_fn(model):
        # the bare network: no DDP buffer broadcasts; each rank scores its shard
        bare = unwrap(model)
        recalibrate_batchnorm(bare, train, pipe, config.precise_bn)
        r = evaluation_from_logits(logits_of(bare, valid, pipe, collective=True),
                                   valid.labels, valid.classes)
        return {"valid_loss": r.loss, "valid_acc": r.top1}

    gradual = config.unfreeze == "gradual"
    on_epoch_start = gradual_unfreezer(net.backbone, config.unfreeze_groups) if gradual else None
    loader = train_batches(train, config.batch_size, config.seed, num_workers=pipe.num_workers,
                           pin_memory=pipe.device.type == "cuda")
    # gradual unfreezing leaves frozen chunks without gradients, which DDP must be told
    model = wrap_model(net, pipe.device, find_unused_parameters=gradual)
    history = fit(model, loader, step, opt, config.epochs,
                  evaluate_fn=evaluate_fn if valid is not None else None,
                  scheduler=make_scheduler(config, opt), device=pipe.device, amp=pipe.amp,
                  on_epoch_start=on_epoch_start, desc="finetune", progress=config.progress,
                  **fit_options)
    recalibrate_batchnorm(net, train, pipe, config.precise_bn)
    return history

