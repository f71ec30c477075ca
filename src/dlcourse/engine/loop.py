"""One epoch of training and one pass of evaluation: the inner loops every lesson reuses.

The loop knows nothing about the models: a lesson supplies ``step_fn(model, batch) -> loss`` (or
``(loss, n_items)``). :func:`train_one_epoch` adds what every epoch needs: mixed precision on
CUDA, gradient clipping, per-step schedules, a progress bar, a check for non-finite losses, and
stopping between two steps when Ctrl-C is pressed (so the checkpoint that
:func:`dlcourse.engine.fitting.fit` then writes resumes to exactly the same model).

The running loss stays on the device and is read (a host sync) only every ``sync_every``
batches: on a GPU a ``loss.item()`` per batch stalls the pipeline.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from dlcourse.engine.device import to_device
from dlcourse.engine.distributed import active_ranks, all_reduce_sum, is_distributed
from dlcourse.engine.interrupt import StopGuard
from dlcourse.engine.progress import progress as progress_bar
from dlcourse.engine.seed import set_rng_state
from dlcourse.errors import DlcourseError

StepFn = Callable[[nn.Module, Any], "torch.Tensor | tuple[torch.Tensor, int]"]
SYNC_EVERY = 20  # batches between host syncs (and the ranks' stop check) on accelerators


@dataclass
class EpochPosition:
    """Where an interrupted epoch stopped, and what it had summed so far (checkpoint values).

    ``rng`` is the RNG state right after batch ``batches_done - 1`` (the epoch's batch order is
    rebuilt from the RNG state at the epoch's start, which the checkpoint keeps separately).
    """

    batches_done: int = 0
    loss_sum: float = 0.0
    items: int = 0
    seconds: float = 0.0
    rng: dict | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"batches_done": self.batches_done, "loss_sum": self.loss_sum,
                "items": self.items, "seconds": self.seconds, "rng": self.rng,
                "extra": self.extra}


@dataclass
class EpochResult:
    """The outcome of :func:`train_one_epoch`: statistics, or where it stopped."""

    stats: dict[str, float]
    stopped: EpochPosition | None = None  # set when Ctrl-C stopped the epoch early


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


def autocast(device: torch.device, amp: bool):
    """bf16 autocast on CUDA when ``amp`` (fp16 on GPUs without bf16); a no-op elsewhere.

    Training and evaluation use this one choice, so a model is scored in the precision it
    trained in.
    """
    if amp and device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast(device_type="cuda", dtype=dtype)
    return contextlib.nullcontext()


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel or compiled wrapper."""
    while hasattr(model, "module") and isinstance(model.module, nn.Module):
        model = model.module
    return getattr(model, "_orig_mod", model)


def _sync(loss_sum: torch.Tensor, stop: bool) -> tuple[float, bool]:
    """Read the running loss (host sync) and agree with every rank on stopping.

    Under torchrun the ranks sum a "stop" count and a "non-finite" count, so that a Ctrl-C or a
    diverged loss on one rank ends every rank at the same batch instead of leaving the others
    waiting in the next all-reduce.
    """
    value = float(loss_sum)
    if is_distributed():
        bad, stops = all_reduce_sum([0.0 if value == value and abs(value) != float("inf")
                                     else 1.0, float(stop)])
        if bad:
            value = float("nan")
        stop = stops > 0
    return value, stop


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
    start: EpochPosition | None = None,
    set_extra: Callable[[dict], None] | None = None,
    get_extra: Callable[[], dict] | None = None,
    guard: StopGuard | None = None,
    desc: str = "train",
    show_progress: bool = True,
) -> EpochResult:
    """Train one pass over ``loader``; return train_loss, items, seconds and items_per_s.

    Args:
        scheduler: a per-step schedule, stepped after every optimizer step.
        start: resume inside the epoch: the first ``start.batches_done`` batches are drawn (the
            same order, since the caller restored the epoch's starting RNG state) but not
            computed; then the RNG state, the running sums and (through ``set_extra``) the
            lesson's own state, such as a carried hidden state, are restored.
        get_extra: the lesson's state to keep when the epoch stops early.
        guard: when it reports a stop (Ctrl-C), the epoch ends after the current step and
            the result's ``stopped`` says where.

    Raises:
        DlcourseError: the loss became NaN or infinite.
    """
    from dlcourse.engine.seed import rng_state

    model.train()
    total = len(loader) if hasattr(loader, "__len__") else None
    bar = progress_bar(loader, total=total, desc=desc, unit="batch",
                       disable=None if show_progress else True)
    start = start or EpochPosition()
    # the sums saved at a stop are over every rank; rank 0 carries them on, so the epoch's
    # reduced train_loss covers the whole epoch whatever the number of processes now
    carried = start if active_ranks()[0] == 0 else EpochPosition()
    # a float64 running sum on the device: summing on the host would sync every batch
    acc_dtype = torch.float32 if device.type == "mps" else torch.float64
    loss_sum = torch.tensor(carried.loss_sum, dtype=acc_dtype, device=device)
    items = carried.items
    # on the CPU reading the loss costs nothing and the ranks' all-reduce of two numbers (gloo)
    # well under a step, so a Ctrl-C stops every rank after the current step; an accelerator
    # would wait for its queue at every read
    sync_every = 1 if device.type == "cpu" else SYNC_EVERY
    began = time.perf_counter() - start.seconds
    last_value = start.loss_sum
    iterator = iter(bar)
    for _ in range(start.batches_done):  # same batches in the same order, not computed
        next(iterator)
    if start.batches_done:
        if start.rng is not None:
            set_rng_state(start.rng)
        if set_extra is not None:
            set_extra(start.extra)
    for i, batch in enumerate(iterator, start=start.batches_done):  # noqa: B007
        batch = to_device(batch, device)
        with autocast(device, amp):
            loss, n = _split_loss(step_fn(model, batch))
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
        loss_sum += loss.detach().to(acc_dtype) * n
        items += n
        if guard is not None:
            guard.step()
        stop = guard is not None and guard.should_stop()
        last_batch = total is not None and i + 1 == total
        if (i + 1) % sync_every == 0 or last_batch or (stop and sync_every == 1):
            last_value, stop = _sync(loss_sum, stop)
            if last_value != last_value or abs(last_value) == float("inf"):
                raise DlcourseError(
                    f"the loss became {last_value} by batch {i + 1}; lower the learning rate "
                    "or enable gradient clipping")
            if hasattr(bar, "set_postfix"):
                elapsed = time.perf_counter() - began
                # shown with the bar's next count: an iterated tqdm keeps its count to itself
                # between draws, so a refresh here drew a stale one ("0/376" halfway through
                # an epoch, on a pipe where a draw comes every 30 s)
                bar.set_postfix(loss=f"{last_value / max(items, 1):.4f}",
                                rate=f"{items / max(elapsed, 1e-9):.0f}/s", refresh=False)
            if stop and not last_batch:
                total_loss, total_items = last_value, items
                if is_distributed():  # every rank stops here together (see _sync)
                    total_loss, total_items = all_reduce_sum([last_value, float(items)])
                return EpochResult({}, EpochPosition(
                    batches_done=i + 1, loss_sum=total_loss, items=int(total_items),
                    seconds=time.perf_counter() - began, rng=rng_state(),
                    extra=get_extra() if get_extra is not None else {}))
    seconds = time.perf_counter() - began
    return EpochResult({"train_loss": float(loss_sum) / max(items, 1), "items": items,
                        "seconds": seconds, "items_per_s": items / max(seconds, 1e-9)})


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: Iterable, step_fn: StepFn, *, device: torch.device, amp: bool = False
) -> dict[str, float]:
    """Mean loss of ``step_fn`` over ``loader`` in eval mode: ``{"loss": ..., "items": ...}``.

    Args:
        model: the module; put in eval mode, then back in its former mode; no gradients.
        loader: an iterable of batches, each moved to ``device`` with :func:`to_device`.
        step_fn: ``step_fn(model, batch) -> loss`` or ``(loss, n_items)``; the loss is weighted
            by ``n_items`` (default: the batch's first tensor's length).
        device: where the batches go (the model must be there already).
        amp: evaluate under CUDA autocast, as :func:`autocast` (a no-op off CUDA).
    """
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64 if device.type != "mps" else torch.float32,
                           device=device)
    items = 0
    for batch in loader:
        batch = to_device(batch, device)
        with autocast(device, amp):
            loss, n = _split_loss(step_fn(model, batch))
        n = n if n is not None else _batch_size(batch)
        loss_sum += loss.detach().to(loss_sum.dtype) * n
        items += n
    model.train(was_training)
    return {"loss": float(loss_sum) / max(items, 1), "items": items}
