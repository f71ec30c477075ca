"""One training run of a text classifier: length-bucketed batches split over the torchrun
ranks, the step (word dropout, adversarial loss), validation metrics agreed by every rank, and
the engine's ``fit`` (checkpoints, exact resume, early stopping, best epoch kept).

Everything random in a step comes from torch's global RNG (dropout masks, word dropout), which
the engine saves after every finished batch and restores on resume; the batch order comes from
the sampler's ``set_epoch`` (seed + epoch), and fetching a batch draws nothing. So a run
interrupted at any batch and resumed trains exactly like one never interrupted.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from dlcourse.classify.config import MONITORS, ClassifierConfig, architecture
from dlcourse.classify.encoding import logits_of
from dlcourse.classify.metrics import classification_metrics
from dlcourse.classify.models import classification_loss, logits_to_proba
from dlcourse.classify.training import adversarial_loss, drop_words, lr_schedule
from dlcourse.engine.distributed import (
    RankBatchSampler,
    active_ranks,
    gather_shards,
    wrap_model,
)
from dlcourse.engine.fitting import fit as engine_fit


def balanced_weights(y: np.ndarray, num_classes: int) -> torch.Tensor:
    """Class weights inverse to the class counts, (C,) float32 (mean weight per item 1)."""
    counts = np.bincount(y, minlength=num_classes)
    return torch.tensor(len(y) / (num_classes * np.maximum(counts, 1)), dtype=torch.float32)


def ema_decay(span: float, steps: int) -> float | None:
    """The per-step decay of a moving average over about ``span`` of ``steps`` (its weights
    fall by e every ``span * steps`` steps), or None (no average) for a span under two steps.

    >>> round(ema_decay(0.3, 1700), 5), ema_decay(0.0, 1700), ema_decay(0.3, 5)
    (0.99804, None, None)
    """
    horizon = span * steps
    return 1.0 - 1.0 / horizon if horizon >= 2 else None


def train_classifier(
    model: nn.Module,
    ids: Sequence[list[int]],
    y: np.ndarray,
    config: ClassifierConfig,
    device: torch.device,
    *,
    classes: Sequence,
    pad_id: int,
    unk_id: int,
    valid: tuple[Sequence[list[int]], np.ndarray] | None = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    checkpoint_extra: dict[str, Any] | None = None,
    soft: np.ndarray | None = None,
) -> tuple[list[dict], int]:
    """Train ``model`` (already on ``device``) on encoded texts; returns (history, best epoch).

    Args:
        model: one of the lesson's classifiers (an ``embedding`` submodule, called as
            ``model(ids, lengths)``).
        ids, y: the training texts as token ids and their class indices (N,).
        config: the validated settings (batch size, optimizer, regularisers, monitor ...).
        device: this rank's device.
        classes: the class labels (for the metrics).
        pad_id, unk_id: the vocabulary's padding and unknown ids (word dropout).
        valid: encoded validation texts and class indices; enables early stopping on
            ``config.monitor`` and keeps the best epoch's weights.
        out_dir, resume, checkpoint_extra: the engine's checkpoints (see
            :func:`dlcourse.engine.fitting.fit`).
        soft: what the model learns instead of ``y`` (knowledge distillation, see
            :func:`dlcourse.classify.distill.soft_targets`): (N,) probabilities of the second
            class for two classes, else (N, C); ``y`` then only weighs the classes.

    Returns:
        The per-epoch history and the 1-based epoch whose weights the model now holds.
    """
    from torch.utils.data import DataLoader

    from dlcourse.text import BucketBatchSampler, PadCollate

    weights = balanced_weights(y, len(classes)) if config.class_weight == "balanced" else None
    rank, world = active_ranks()
    # every rank builds the same global batches (same seed and epoch) and takes its share
    sampler = RankBatchSampler(
        BucketBatchSampler([len(x) for x in ids], config.batch_size, shuffle=True,
                           seed=config.seed), rank, world)
    targets = y.tolist() if soft is None else torch.from_numpy(soft)
    loader = DataLoader(list(zip(ids, targets)), batch_sampler=sampler,
                        collate_fn=PadCollate(pad_id, batch_first=True))

    def step_fn(net, batch):
        batch_ids, lengths, targets = batch  # (B, T), (B,), (B,)
        batch_ids = drop_words(batch_ids, config.word_dropout, unk_id, pad_id)
        loss = adversarial_loss(net, batch_ids, lengths,
                                lambda logits: classification_loss(logits, targets, weights),
                                config.adversarial)
        return loss, len(targets)

    monitor, mode = MONITORS[config.monitor]
    evaluate_fn = None
    if valid is not None:
        v_ids, v_y = valid[0], torch.from_numpy(valid[1])

        def evaluate_fn(net):
            # each rank scores every N-th text with the bare model (no DDP forward); the
            # gathered logits give every rank the same metrics, so early stopping agrees
            logits = logits_of(model, v_ids[rank::world], pad_id=pad_id,
                               num_classes=len(classes), device=device)
            if world > 1:
                logits = gather_shards(logits, len(v_ids))
            loss = classification_loss(logits, v_y, weights).item()
            pred = logits_to_proba(logits).argmax(1).numpy()
            m = classification_metrics(v_y.numpy(), pred, list(classes))
            return {"valid_loss": loss, "valid_acc": m["accuracy"], "valid_f1": m["macro_f1"]}

    # a pretrained BERT fine-tunes with AdamW (weight decay decoupled from the adaptive step)
    bert = architecture(config.model) == "bert"
    optimizer_class = torch.optim.AdamW if bert else torch.optim.Adam
    optimizer = optimizer_class([p for p in model.parameters() if p.requires_grad],
                                lr=config.lr, weight_decay=config.weight_decay)
    scheduler = lr_schedule(optimizer, config.schedule, config.epochs * len(loader))
    history = engine_fit(
        wrap_model(model, device), loader, step_fn, optimizer, config.epochs,
        evaluate_fn=evaluate_fn, scheduler=scheduler, scheduler_interval="step",
        monitor=monitor if valid is not None else "train_loss",
        mode=mode if valid is not None else "min",
        patience=config.patience if valid is not None else None, grad_clip=config.grad_clip,
        device=device, out_dir=out_dir, resume=resume, checkpoint_extra=checkpoint_extra,
        restore_best=valid is not None,
        ema_decay=ema_decay(config.ema_span, config.epochs * len(loader)),
        desc=f"classify {config.model}", progress=config.progress)
    if valid is None:
        return history, len(history)
    # the engine restored this epoch's weights (restore_best)
    sign = 1 if mode == "max" else -1
    best = max(range(len(history)), key=lambda i: history[i][monitor] * sign)
    return history, best + 1
