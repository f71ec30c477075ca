"""``fit``: epochs of :func:`~dlcourse.engine.loop.train_one_epoch` plus what every run needs.

Validation after each epoch, LR schedules, early stopping, the best epoch's weights, per-epoch
history as JSON, checkpoints (``last.pt`` every epoch and on Ctrl-C, ``best.pt``) and resume.

Resume is exact: a run interrupted anywhere and resumed ends with the same weights, bit for bit
on the CPU, as the run that was never interrupted. The checkpoint keeps the RNG state at the
start of the interrupted epoch (to draw the same batch order again), the RNG state after the
last finished batch, the number of batches done, the running loss sums, the optimizer,
scheduler, scaler and early-stopping states, and the lesson's own state (``extra_state``, e.g.
a language model's carried hidden state).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from contextlib import closing, nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dlcourse.engine.averaging import WeightAverage
from dlcourse.engine.checkpoint import load_checkpoint, save_checkpoint, write_json
from dlcourse.engine.distributed import (
    all_reduce_sum,
    barrier,
    is_distributed,
    is_main_process,
)
from dlcourse.engine.early_stopping import EarlyStopping
from dlcourse.engine.estimator import check_resume_dir
from dlcourse.engine.interrupt import RESUME_HINT, StopGuard, say_resuming, stopped_at_once
from dlcourse.engine.loop import EpochPosition, StepFn, train_one_epoch, unwrap
from dlcourse.engine.persist import check_resume_config, nothing_to_resume
from dlcourse.engine.seed import gather_rng_state, rank_rng_state, rng_state, set_rng_state
from dlcourse.errors import (
    ConfigError,
    DlcourseError,
    IncompatibleModelError,
    TrainingInterrupted,
    a_quoted,
)

log = logging.getLogger(__name__)

ExtraState = tuple[Callable[[], dict], Callable[[dict], None]]


def _set_epoch(loader: Any, epoch: int) -> None:
    for holder in (loader, getattr(loader, "sampler", None),
                   getattr(loader, "batch_sampler", None)):
        if holder is not None and hasattr(holder, "set_epoch"):
            holder.set_epoch(epoch)


def load_resume_state(out: Path | None, extra: dict) -> dict:
    """The run's ``last.pt`` (tensors on the CPU), checked to belong to this lesson and config.

    The command line calls it before any work (with the settings it knows then), ``fit`` again
    with the full ``checkpoint_extra``, so a wrong ``--resume`` fails the same way both times.

    Args:
        out: the run folder.
        extra: ``{"lesson": ..., "config": {...}}`` as given to :func:`fit`, and ``"before"``
            (the config class's ``before``) where settings were added since the first release.

    Raises:
        DlcourseError: no ``last.pt``; settings that differ (``IncompatibleModelError``: a run
            of another lesson).
    """
    check_resume_dir(True, out)  # the Python API's fit(..., resume=True) without out_dir
    if not (out / "last.pt").exists():
        raise nothing_to_resume(out / "last.pt")
    # on the CPU: RNG states must stay CPU ByteTensors, and load_state_dict moves the rest
    state = load_checkpoint(out / "last.pt", map_location="cpu")
    if "lesson" in extra and state.get("lesson") not in (None, extra["lesson"]):
        raise IncompatibleModelError(
            f"cannot resume {out}: it holds {a_quoted(state.get('lesson'))} run, not "
            f"{a_quoted(extra['lesson'])} one; train into a new --out (in Python: another out_dir)")
    if isinstance(extra.get("config"), dict) and isinstance(state.get("config"), dict):
        check_resume_config(state["config"], extra["config"], out, before=extra.get("before"))
    return state


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
    extra_state: ExtraState | None = None,
    on_epoch_start: Callable[[int], None] | None = None,
    restore_best: bool = False,
    ema_decay: float | None = None,
    desc: str = "train",
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train ``model`` for ``epochs`` epochs and return the per-epoch history.

    Args:
        step_fn: ``step_fn(model, batch) -> loss`` or ``(loss, n_items)``; the batch is already
            on the model's device. Used for training only; validation is ``evaluate_fn``.
        evaluate_fn: ``evaluate_fn(model) -> {"valid_loss": ..., ...}`` after each epoch.
        scheduler: an LR scheduler; ``ReduceLROnPlateau`` is stepped with the monitored value,
            others once per epoch (or per step with ``scheduler_interval="step"``).
        monitor, mode, patience: the metric (default ``valid_loss`` with an ``evaluate_fn``,
            else ``train_loss``) for the best epoch and, with ``patience``, early stopping.
        out_dir: where ``last.pt`` (every epoch and on Ctrl-C: everything a resume needs),
            ``best.pt`` (the best epoch's weights, history and ``checkpoint_extra``) and
            ``history.json`` go; the checkpoints load with ``weights_only=True``.
        resume: continue from ``out_dir/last.pt``, from the exact batch where it stopped.
        checkpoint_extra: plain values stored in the checkpoints (``lesson``, ``config``,
            ``vocab``, ``classes``); on resume a different ``lesson`` or ``config`` is refused
            (``before``: see :func:`load_resume_state`).
        extra_state: ``(get, set)``: the lesson's own state to save when an epoch stops early
            and to restore when it resumes (tensors and plain values).
        on_epoch_start: called with the epoch index before each epoch (e.g. to reset a state).
        restore_best: load the best epoch's weights (by ``monitor``) before returning.
        ema_decay: keep an exponential moving average of the weights with this decay per
            step (:class:`~dlcourse.engine.averaging.WeightAverage`): each epoch validates both
            the average and the weights, and the better by ``monitor`` (history key
            ``averaged``: 1 or 0) competes for the best epoch and is what is returned; without
            ``evaluate_fn`` the average is. It is checkpointed with its decay, which a resumed
            run keeps (so resume stays exact even when the decay was derived from ``epochs``).

    Raises:
        TrainingInterrupted: after Ctrl-C, once the checkpoint is written.
        DlcourseError: nothing to resume, a run of another lesson or settings, a diverged loss.
    """
    if epochs < 1:
        raise ConfigError(f"epochs must be >= 1, got {epochs}")
    if scheduler_interval not in ("epoch", "step"):
        raise ConfigError(f"unknown scheduler_interval {scheduler_interval!r}; "
                          "choose one of epoch, step")
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
    extra = dict(checkpoint_extra or {})
    start_epoch, position, epoch_rng, averaged = 0, None, None, None

    if resume:
        state = load_resume_state(out, extra)
        try:
            unwrap(model).load_state_dict(state["model"])
        except RuntimeError as exc:
            raise IncompatibleModelError(
                f"cannot resume {out}: its weights do not fit this model "
                f"({' '.join(str(exc).split())[:160]}); train into a new --out (in Python: "
                "another out_dir)") from exc
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and state.get("scaler") is not None:
            scaler.load_state_dict(state["scaler"])
        stopper.load_state_dict(state["early_stopping"])
        history = list(state["history"])
        start_epoch = state["epoch"]
        epoch_rng = rank_rng_state(state["rng"])
        if state.get("position"):
            position = EpochPosition(**state["position"])
            if position.rng is not None:
                position.rng = rank_rng_state(position.rng)
        averaged = state.get("average")
        if averaged is not None and ema_decay:  # the run's own decay, whatever epochs say now
            ema_decay = float(state["average_decay"])
        if state.get("stopped_early") and stopper.should_stop:  # more patience goes on
            log.info("run had already stopped early at epoch %d", start_epoch)
            start_epoch = epochs  # nothing left to train; restore_best below still applies
        else:  # a finished run's outputs are written again
            say_resuming(start_epoch, epochs,
                         f", batch {position.batches_done + 1}" if position else "")

    average = WeightAverage(unwrap(model), optimizer, ema_decay) if ema_decay else None
    if average is not None and resume and averaged is not None:
        average.load_state_dict(averaged)

    def snapshot(epoch: int, rng: dict, pos: EpochPosition | None = None,
                 stopped_early: bool = False) -> dict:
        return {**extra, "model": unwrap(model).state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "scaler": scaler.state_dict() if scaler is not None else None,
                "average": average.state_dict() if average is not None else None,
                "average_decay": ema_decay if average is not None else None,
                "early_stopping": stopper.state_dict(), "history": history, "epoch": epoch,
                "rng": rng, "position": pos.to_dict() if pos is not None else None,
                "batches_done": pos.batches_done if pos is not None else 0,
                "stopped_early": stopped_early}

    get_extra, set_extra = extra_state if extra_state is not None else (None, None)
    # the average stops following the optimizer when training ends, however it ends
    with StopGuard() as guard, closing(average) if average is not None else nullcontext():
        for epoch in range(start_epoch, epochs):
            if epoch_rng is not None:  # resuming: the state this epoch started from
                set_rng_state(epoch_rng)
            epoch_rng = rng_state()
            _set_epoch(train_loader, epoch)
            if on_epoch_start is not None:
                on_epoch_start(epoch)
            try:
                result = train_one_epoch(
                    model, train_loader, step_fn, optimizer, device=device,
                    grad_clip=grad_clip, amp=amp, scaler=scaler,
                    scheduler=scheduler if scheduler_interval == "step" else None,
                    start=position, get_extra=get_extra, set_extra=set_extra, guard=guard,
                    desc=f"{desc} {epoch + 1}/{epochs}", show_progress=progress)
            except KeyboardInterrupt:  # a second Ctrl-C: stop at once, keep the last checkpoint
                raise stopped_at_once(None if out is None else out / "last.pt",
                                      f" in epoch {epoch + 1}") from None
            position = None
            if result.stopped is not None:
                done = result.stopped.batches_done
                where = f"in epoch {epoch + 1} after {done} batch{'es' * (done != 1)}"
                if out is not None:  # every rank's generators (all ranks stopped here)
                    result.stopped.rng = gather_rng_state(result.stopped.rng)
                    saved_rng = gather_rng_state(epoch_rng)
                if out is not None and main:
                    save_checkpoint(out / "last.pt", snapshot(epoch, saved_rng, result.stopped))
                # torchrun stops every rank as soon as one exits: the others leave only once
                # rank 0's checkpoint is on disk (every rank stopped here, see train_one_epoch)
                barrier()
                if out is not None and main:
                    raise TrainingInterrupted(
                        f"interrupted {where}; checkpoint saved to {out / 'last.pt'}; "
                        f"{RESUME_HINT}")
                if out is not None:  # another torchrun rank: every rank stopped here
                    raise TrainingInterrupted(f"interrupted {where}; rank 0 writes the "
                                              f"checkpoint {out / 'last.pt'}")
                raise TrainingInterrupted(f"interrupted {where}; no output folder, so nothing "
                                          "was saved")
            stats = result.stats
            if is_distributed():  # the loss and throughput of the whole run, not of this rank
                loss_sum, items = all_reduce_sum([stats["train_loss"] * stats["items"],
                                                  stats["items"]])
                stats.update(train_loss=loss_sum / max(items, 1), items=int(items),
                             items_per_s=items / max(stats["seconds"], 1e-9))
            record: dict[str, float] = {"epoch": epoch + 1, **stats,
                                        "lr": optimizer.param_groups[0]["lr"]}
            use_average = average is not None
            if evaluate_fn is not None:
                metrics, use_average = _validate(model, evaluate_fn, average, monitor, mode)
                record.update(metrics)
            if average is not None:
                record["averaged"] = float(use_average)
            value = record.get(monitor)
            if value is None:
                raise DlcourseError(f"monitored metric {monitor!r} not among {sorted(record)}")
            is_best = stopper.improved(float(value)) if math.isfinite(value) else False
            best_model = None  # this epoch's weights for best.pt, when they differ from last.pt's
            if is_best and (restore_best or average is not None):
                with average.applied() if use_average else nullcontext():
                    best_model = {k: v.detach().clone()
                                  for k, v in unwrap(model).state_dict().items()}
            if is_best and restore_best:
                best_weights = best_model
            if scheduler is not None and scheduler_interval == "epoch":
                scheduler.step(value) if plateau else scheduler.step()
            history.append(record)
            log.info("epoch %d/%d %s (%.1f s, %.0f items/s)", epoch + 1, epochs,
                     " ".join(f"{k}={v:.4g}" for k, v in record.items()
                              if k not in ("epoch", "items", "seconds", "items_per_s")),
                     stats["seconds"], stats["items_per_s"])
            stop = stopper.should_stop
            epoch_rng = rng_state()  # the next epoch starts from here
            saved_rng = gather_rng_state(epoch_rng) if out is not None else None
            if out is not None and main:
                state = snapshot(epoch + 1, saved_rng, stopped_early=stop)
                if is_best:  # the weights restore_best needs; --resume reads last.pt, so the
                    # optimizer state (twice the weights under Adam) is not written twice
                    save_checkpoint(out / "best.pt", {
                        **{key: state[key] for key in (*extra, "model", "history", "epoch")},
                        "model": best_model if best_model is not None else state["model"]})
                save_checkpoint(out / "last.pt", state)
                write_json(out / "history.json", history)
            if stop:
                bad = stopper.bad_epochs
                log.info("early stop: %s did not improve for %d epoch%s (patience %d)", monitor,
                         bad, "" if bad == 1 else "s", patience)
                break
            interrupted = guard.should_stop()  # Ctrl-C in the epoch's last step
            if is_distributed():  # a signal may reach the ranks on either side of this check
                interrupted = all_reduce_sum([float(interrupted)])[0] > 0
            if interrupted and epoch + 1 < epochs:
                barrier()  # rank 0's last.pt is on disk before any rank exits
                saved = f"checkpoint saved to {out / 'last.pt'}; " if out is not None else ""
                raise TrainingInterrupted(f"interrupted after epoch {epoch + 1}; {saved}"
                                          f"{RESUME_HINT}")
    if restore_best and best_weights is None and out is not None and (out / "best.pt").exists():
        best_weights = load_checkpoint(out / "best.pt", map_location=device)["model"]
    if restore_best and best_weights is not None:
        unwrap(model).load_state_dict(best_weights)
    elif average is not None and (not history or history[-1].get("averaged", 1.0)):
        average.copy_to_model()
    return history


def _validate(model: nn.Module, evaluate_fn: Callable[[nn.Module], dict[str, float]],
              average: WeightAverage | None, monitor: str, mode: str
              ) -> tuple[dict[str, float], bool]:
    """This epoch's validation metrics, and whether they are the weight average's.

    With an average both it and the weights themselves are validated and the better by
    ``monitor`` stands for the epoch (the average on a tie): an average lags the weights by
    about half its span, which pays where the weights wander around a plateau but not while
    they still improve fast, and only validation can tell which is the case. The other's
    monitored value is kept as ``own_<monitor>`` or ``average_<monitor>``.
    """
    if average is None:
        return evaluate_fn(model), False
    own = evaluate_fn(model)
    with average.applied():
        averaged = evaluate_fn(model)
    a, o = averaged.get(monitor), own.get(monitor)
    if a is None or o is None or not math.isfinite(o):
        use_average = True
    else:  # a NaN average loses
        use_average = a <= o if mode == "min" else a >= o
    if use_average:
        return {**averaged, **({} if o is None else {f"own_{monitor}": o})}, True
    return {**own, **({} if a is None else {f"average_{monitor}": a})}, False

