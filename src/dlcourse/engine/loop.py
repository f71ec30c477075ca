"""A small training loop that every gradient-trained lesson reuses.

The loop knows nothing about the models: a lesson supplies ``step_fn(model, batch) -> loss`` (or
``(loss, n_items)``) and optionally ``evaluate_fn(model) -> dict``. ``fit`` adds what every run
needs: progress with loss and throughput, gradient clipping, mixed precision on CUDA, LR schedules,
early stopping, per-epoch history as JSON, checkpoints after each epoch, resume, and Ctrl-C.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dlcourse.engine.checkpoint import load_checkpoint, save_checkpoint, write_json
from dlcourse.engine.device import to_device
from dlcourse.engine.distributed import all_reduce_sum, is_distributed, is_main_process
from dlcourse.engine.progress import progress as progress_bar
from dlcourse.engine.seed import rng_state, set_rng_state
from dlcourse.errors import DlcourseError, TrainingInterrupted

log = logging.getLogger(__name__)

StepFn = Callable[[nn.Module, Any], "torch.Tensor | tuple[torch.Tensor, int]"]


class EarlyStopping:
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    ``mode`` is "min" for losses and perplexities, "max" for accuracy or F1.
    """

    def __init__(
        self,
        monitor: str = "valid_loss",
        mode: str = "min",
        patience: int | None = None,
        min_delta: float = 0.0,
    ):
        if mode not in ("min", "max"):
            raise ValueError(f"unknown mode {mode!r}; choose one of min, max")
        self.monitor = monitor
        self.mode = mode
        self.patience = patience
        self.min_delta = min_delta
        self.best: float | None = None
        self.bad_epochs = 0

    def improved(self, value: float) -> bool:
        """Record ``value``; True when it is the best so far."""
        if self.best is None or (
            value < self.best - self.min_delta
            if self.mode == "min"
            else value > self.best + self.min_delta
        ):
            self.best = value
            self.bad_epochs = 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.bad_epochs > self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.best = state["best"]
        self.bad_epochs = state["bad_epochs"]


def _split_loss(out) -> tuple[torch.Tensor, int | None]:
    if isinstance(out, tuple):
        return out[0], int(out[1])
    return out, None


def _batch_size(batch: Any) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else 1
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, list | tuple) and batch:
        return _batch_size(batch[0])
    return 1


def _autocast(device: torch.device, amp: bool):
    if amp and device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast(device_type="cuda", dtype=dtype)
    return contextlib.nullcontext()


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel or compiled wrapper."""
    while hasattr(model, "module") and isinstance(model.module, nn.Module):
        model = model.module
    return getattr(model, "_orig_mod", model)


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    step_fn: StepFn,
    optimizer: torch.optim.Optimizer,
    *,
    device: torch.device,
    grad_clip: float | None = None,
    amp: bool = False,
    scaler: torch.amp.GradScaler | None = None,
    scheduler=None,
    skip_batches: int = 0,
    desc: str = "train",
    show_progress: bool = True,
    on_batch_end: Callable[[int], None] | None = None,
) -> dict[str, float]:
    """Train one pass over ``loader``; return train_loss, items, seconds and items_per_s.

    ``scheduler`` here is a per-step schedule (stepped after every optimizer step). ``skip_batches``
    skips the first batches without computing them (resuming inside an epoch). ``on_batch_end(i)``
    runs after batch ``i`` (used by ``fit`` to know where a Ctrl-C landed).
    """
    model.train()
    total = len(loader) if hasattr(loader, "__len__") else None
    bar = progress_bar(
        loader, total=total, desc=desc, unit="batch", disable=None if show_progress else True
    )
    loss_sum, items, start = 0.0, 0, time.perf_counter()
    for i, batch in enumerate(bar):
        if i < skip_batches:
            continue
        batch = to_device(batch, device)
        with _autocast(device, amp):
            loss, n = _split_loss(step_fn(model, batch))
        if not torch.isfinite(loss):
            raise DlcourseError(
                f"loss became {loss.item()} at batch {i}; "
                "lower the learning rate or enable gradient clipping"
            )
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        if grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        if scheduler is not None:
            scheduler.step()
        n = n if n is not None else _batch_size(batch)
        loss_sum += loss.item() * n
        items += n
        if hasattr(bar, "set_postfix") and i % 10 == 0:
            elapsed = time.perf_counter() - start
            bar.set_postfix(
                loss=f"{loss_sum / max(items, 1):.4f}", rate=f"{items / max(elapsed, 1e-9):.0f}/s"
            )
        if on_batch_end is not None:
            on_batch_end(i)
    seconds = time.perf_counter() - start
    return {
        "train_loss": loss_sum / max(items, 1),
        "items": items,
        "seconds": seconds,
        "items_per_s": items / max(seconds, 1e-9),
    }


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: Iterable, step_fn: StepFn, *, device: torch.device, amp: bool = False
) -> dict[str, float]:
    """Mean loss of ``step_fn`` over ``loader`` in eval mode: ``{"loss": ..., "items": ...}``."""
    was_training = model.training
    model.eval()
    loss_sum, items = 0.0, 0
    for batch in loader:
        batch = to_device(batch, device)
        with _autocast(device, amp):
            loss, n = _split_loss(step_fn(model, batch))
        n = n if n is not None else _batch_size(batch)
        loss_sum += loss.item() * n
        items += n
    model.train(was_training)
    return {"loss": loss_sum / max(items, 1), "items": items}


def _set_epoch(loader: Any, epoch: int) -> None:
    for holder in (
        loader,
        getattr(loader, "sampler", None),
        getattr(loader, "batch_sampler", None),
    ):
        if holder is not None and hasattr(holder, "set_epoch"):
            holder.set_epoch(epoch)


def fit(
    model: nn.Module,
    train_loader: Iterable,
    step_fn: StepFn,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    evaluate_fn: Callable[[nn.Module], dict[str, float]] | None = None,
    scheduler=None,
    scheduler_interval: str = "epoch",
    monitor: str | None = None,
    mode: str = "min",
    patience: int | None = None,
    grad_clip: float | None = None,
    device: torch.device | None = None,
    amp: bool = False,
    out_dir: str | Path | None = None,
    resume: bool = False,
    checkpoint_extra: dict[str, Any] | None = None,
    on_epoch_start: Callable[[int], None] | None = None,
    restore_best: bool = False,
    desc: str = "train",
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train ``model`` for ``epochs`` epochs and return the per-epoch history.

    Parameters
    ----------
    step_fn: ``step_fn(model, batch) -> loss`` or ``(loss, n_items)``; the batch is already on the
        model's device. It is used for training only; validation goes through ``evaluate_fn``.
    evaluate_fn: ``evaluate_fn(model) -> {"valid_loss": ..., ...}`` run after each epoch.
    scheduler: an LR scheduler; ``ReduceLROnPlateau`` is stepped with the monitored value,
        others once per epoch (or per step when ``scheduler_interval="step"``).
    monitor, mode, patience: the metric (default ``valid_loss`` with an ``evaluate_fn``, else
        ``train_loss``) for best-model selection and, when ``patience`` is set, early stopping.
    out_dir: where ``last.pt`` (every epoch), ``best.pt`` and ``history.json`` go. The checkpoints
        hold the model, optimizer, scheduler, RNG states, history and ``checkpoint_extra`` (config,
        vocab, classes), and load with ``weights_only=True``.
    resume: continue from ``out_dir/last.pt``; training N epochs equals training k, resuming, and
        training the rest.
    on_epoch_start: called with the epoch index before each epoch (e.g. to reset a hidden state).
    restore_best: load the weights of the best epoch (by ``monitor``) into ``model`` before
        returning (kept in memory, so it works without ``out_dir`` too).

    Raises TrainingInterrupted after saving ``last.pt`` when Ctrl-C stops the run.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(
            f"unknown scheduler_interval {scheduler_interval!r}; choose one of epoch, step"
        )
    device = device or next(model.parameters()).device
    monitor = monitor or ("valid_loss" if evaluate_fn else "train_loss")
    stopper = EarlyStopping(monitor, mode, patience)
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    scaler = None
    if amp and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        scaler = torch.amp.GradScaler("cuda")
    out = Path(out_dir) if out_dir is not None else None
    main = is_main_process()
    history: list[dict[str, float]] = []
    best_weights: dict[str, torch.Tensor] | None = None
    start_epoch, skip = 0, 0
    extra = dict(checkpoint_extra or {})

    if resume:
        if out is None or not (out / "last.pt").exists():
            raise DlcourseError(
                f"nothing to resume: {out}/last.pt does not exist; run without --resume"
            )
        state = load_checkpoint(out / "last.pt", map_location=device)
        unwrap(model).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("scaler") is not None:
            scaler.load_state_dict(state["scaler"])
        stopper.load_state_dict(state["early_stopping"])
        history = list(state["history"])
        start_epoch, skip = state["epoch"], state.get("batches_done", 0)
        set_rng_state(state["rng"])
        if state.get("stopped_early"):
            log.info("run had already stopped early at epoch %d", start_epoch)
            start_epoch = epochs  # nothing left to train; restore_best below still applies
        else:
            log.info("resuming at epoch %d%s", start_epoch + 1, f", batch {skip}" if skip else "")

    def snapshot(
        epoch: int, batches_done: int, epoch_rng: dict, stopped_early: bool = False
    ) -> dict:
        return {
            **extra,
            "model": unwrap(model).state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": scaler.state_dict() if scaler is not None else None,
            "early_stopping": stopper.state_dict(),
            "history": history,
            "epoch": epoch,
            "batches_done": batches_done,
            "rng": epoch_rng,
            "stopped_early": stopped_early,
        }

    for epoch in range(start_epoch, epochs):
        epoch_rng = rng_state()  # the state this epoch starts from: resume replays it exactly
        _set_epoch(train_loader, epoch)
        if on_epoch_start is not None:
            on_epoch_start(epoch)
        batches_done = skip

        def mark(i: int) -> None:
            nonlocal batches_done
            batches_done = i + 1

        try:
            stats = train_one_epoch(
                model,
                train_loader,
                step_fn,
                optimizer,
                device=device,
                grad_clip=grad_clip,
                amp=amp,
                scaler=scaler,
                scheduler=scheduler if scheduler_interval == "step" else None,
                skip_batches=skip,
                desc=f"{desc} {epoch + 1}/{epochs}",
                show_progress=progress,
                on_batch_end=mark,
            )
        except KeyboardInterrupt:
            if out is not None and main:
                save_checkpoint(out / "last.pt", snapshot(epoch, batches_done, epoch_rng))
                raise TrainingInterrupted(
                    f"interrupted in epoch {epoch + 1} after {batches_done} batches; "
                    f"checkpoint saved to "
                    f"{out / 'last.pt'}; run again with --resume to continue"
                ) from None
            raise TrainingInterrupted("interrupted; no output directory, nothing saved") from None
        skip = 0
        if is_distributed():  # the loss and throughput of the whole run, not of this rank
            loss_sum, items = all_reduce_sum([stats["train_loss"] * stats["items"], stats["items"]])
            stats.update(
                train_loss=loss_sum / max(items, 1),
                items=int(items),
                items_per_s=items / max(stats["seconds"], 1e-9),
            )
        record: dict[str, float] = {
            "epoch": epoch + 1,
            **stats,
            "lr": optimizer.param_groups[0]["lr"],
        }
        if evaluate_fn is not None:
            record.update(evaluate_fn(model))
        value = record.get(monitor)
        if value is None:
            raise DlcourseError(f"monitored metric {monitor!r} not among {sorted(record)}")
        is_best = stopper.improved(float(value)) if math.isfinite(value) else False
        if is_best and restore_best:
            best_weights = {k: v.detach().clone() for k, v in unwrap(model).state_dict().items()}
        if scheduler is not None and scheduler_interval == "epoch":
            scheduler.step(value) if plateau else scheduler.step()
        history.append(record)
        log.info(
            "epoch %d/%d %s (%.1f s, %.0f items/s)",
            epoch + 1,
            epochs,
            " ".join(
                f"{k}={v:.4g}"
                for k, v in record.items()
                if k not in ("epoch", "items", "seconds", "items_per_s")
            ),
            stats["seconds"],
            stats["items_per_s"],
        )
        stop = stopper.should_stop
        if out is not None and main:
            state = snapshot(epoch + 1, 0, rng_state(), stopped_early=stop)
            if is_best:
                save_checkpoint(out / "best.pt", state)
            save_checkpoint(out / "last.pt", state)
            write_json(out / "history.json", history)
        if stop:
            log.info("early stop: %s did not improve for %d epochs", monitor, patience)
            break
    if restore_best:
        if best_weights is None and out is not None and (out / "best.pt").exists():
            best_weights = load_checkpoint(out / "best.pt", map_location=device)["model"]
        if best_weights is not None:
            unwrap(model).load_state_dict(best_weights)
    return history
