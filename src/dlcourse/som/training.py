"""A SOM training run: the backend it computes with, Ctrl-C at a safe point, checkpoints, resume.

``SOM.fit`` hands a backend runner a :class:`~dlcourse.som.rules.TrainState` and a
:class:`RunControl`. The control counts steps for :class:`~dlcourse.engine.interrupt.StopGuard`
(a batch epoch, ``ONLINE_CHUNK`` online samples, a mini-batch), says when to stop, and writes
``OUT/last.safetensors`` (:func:`dlcourse.engine.persist.write_state`: the working weights and
the state as JSON; no torch). A run resumed from that file starts the same loop from the same
state, so it ends with the same bits as a run never stopped.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable
from contextlib import closing, nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from dlcourse.engine.accelerator import accelerator_possible, check_device_name
from dlcourse.engine.array_checkpoint import ArrayCheckpoint
from dlcourse.engine.distributed import barrier
from dlcourse.engine.interrupt import RESUME_HINT, StopGuard, stopped_at_once
from dlcourse.engine.persist import check_resume_config, checkpoint_manifest
from dlcourse.errors import DlcourseError, TrainingInterrupted
from dlcourse.som.grid import Grid
from dlcourse.som.rules import Control, SearchSpec, TrainSettings, TrainState, sum_over_ranks

# an epoch can take a millisecond and a checkpoint ~10 ms (written and synced to disk): an
# epoch's checkpoint is written when this many seconds passed since the last one (always at
# the end of the run and on Ctrl-C), so a kill -9 loses at most about this much work
CHECKPOINT_EVERY_S = 1.0


# ---------------------------------------------------------------------------- backends
def _accelerator_possible() -> bool:
    """Whether ``device="auto"`` could mean a GPU here, decided without importing torch."""
    torch = sys.modules.get("torch")  # None also when torch was made unimportable
    if torch is not None:  # imported already: its answer costs nothing
        mps = getattr(torch.backends, "mps", None)
        return bool(torch.cuda.is_available() or (mps is not None and mps.is_available()))
    return accelerator_possible()


def resolve_backend(device: str, backend: str = "auto") -> tuple[str, str]:
    """(backend, device) a map computes with: ``("numpy", "cpu")`` or ``("torch", "cuda:0")``.

    The CPU path never imports torch (about 2 s): ``device="cpu"``, ``backend="numpy"`` and
    ``"auto"`` on a machine without an accelerator driver decide without it.

    Raises:
        DlcourseError: an unknown or unavailable device.
    """
    device = check_device_name(device)
    if cpu_without_torch(device, backend):
        return "numpy", "cpu"
    try:
        from dlcourse.engine.device import resolve_device
    except ImportError:  # torch not installed: only the CPU is there
        if device == "auto" and backend == "auto":
            return "numpy", "cpu"
        raise DlcourseError(f"device {device!r} with backend {backend!r} needs torch; pip "
                            "install torch, or use --device cpu") from None
    resolved = resolve_device(device)
    if backend == "auto":
        backend = "numpy" if resolved.type == "cpu" else "torch"
    return backend, str(resolved)


def cpu_without_torch(device: str, backend: str = "auto") -> bool:
    """Whether ``resolve_backend(device, backend)`` answers the CPU without importing torch."""
    device = check_device_name(device)
    return backend == "numpy" or (backend == "auto" and (
        device == "cpu" or (device == "auto" and not _accelerator_possible())))


def make_runner(spec: SearchSpec, backend: str, device: str, train: bool = True):
    """The backend's runner: :class:`NumpyRunner` or (importing torch) :class:`TorchRunner`;
    with ``train=False`` on the CPU the numba-free :class:`NumpySearch`, for queries."""
    if backend == "numpy":
        if not train:  # a query need not pay numba's start (about 0.9 s a process)
            from dlcourse.som.backend_numpy import NumpySearch

            return NumpySearch(spec)
        from dlcourse.som.numpy_training import NumpyRunner

        return NumpyRunner(spec)
    from dlcourse.som.backend_torch import TorchRunner

    return TorchRunner(spec, device)


def data_fingerprint(X: np.ndarray) -> str:
    """``"N x d, <hash>"`` of the data: the shape, column sums and about 4,096 rows.

    Enough to tell a resumed run that it got other data, at a fraction of hashing every byte.
    """
    step = max(1, len(X) // 4096)
    digest = hashlib.blake2b(digest_size=8)
    digest.update(np.ascontiguousarray(X[::step], dtype=np.float64).tobytes())
    digest.update(X.sum(axis=0, dtype=np.float64).tobytes())
    return f"{len(X)} x {X.shape[1]}, {digest.hexdigest()}"


# ---------------------------------------------------------------------------- checkpoints
class Checkpoint(ArrayCheckpoint):
    """``OUT/last.safetensors`` of one SOM run: its settings, its data's fingerprint and a state.

    Args:
        out_dir: the run's folder.
        settings: plain values a resumed run must share (the config's resume values, the
            data's fingerprint, what the CLI did to the data).
        config: the whole config (saved for reading, not compared).
    """

    def __init__(self, out_dir: str | os.PathLike, settings: dict[str, Any],
                 config: dict[str, Any]) -> None:
        super().__init__(out_dir, "som", "SOM", settings, config, CHECKPOINT_EVERY_S)

    def write(self, state: TrainState, weights: np.ndarray | None = None) -> Path:
        """Save ``state`` (with ``weights`` instead of ``state.weights`` when given) atomically:
        a crash leaves the previous checkpoint or this one. Only rank 0 writes."""
        return self.write_arrays({"weights": state.weights if weights is None else weights},
                                 state.to_values())

    def read(self) -> TrainState:
        """The saved state, after :func:`check_resumable` against this run's settings.

        Raises:
            DlcourseError: nothing to resume, another lesson's run, other settings or data.
        """
        check_resumable(self.path.parent, self.settings)
        manifest, arrays = self.read_arrays()
        try:
            return TrainState.from_values(arrays["weights"], manifest["state"])
        except (KeyError, TypeError, IndexError) as exc:
            raise DlcourseError(f"cannot resume {self.path}: it lacks {exc} (written by "
                                "another version); train into a new --out (in Python: "
                                "another out_dir)") from None


def check_resumable(out_dir: str | os.PathLike, settings: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    """Refuse ``--resume`` of ``out_dir`` before any work; returns the checkpoint's manifest.

    Args:
        out_dir: the run's folder.
        settings: this run's settings (see :class:`Checkpoint`); None checks only that the
            folder holds an SOM checkpoint.

    Raises:
        DlcourseError: no checkpoint, another lesson's run, or settings that differ (naming
            the first one and both values).
    """
    manifest = checkpoint_manifest(out_dir, "som")
    if settings is not None:
        saved = manifest.get("settings") or {}
        grids = [(s.get("m"), s.get("n")) for s in (saved, settings)]
        if None not in grids[0] + grids[1] and grids[0] != grids[1]:  # --grid, not m and n
            raise DlcourseError(f"cannot resume {out_dir}: it was trained on a "
                                f"{grids[0][0]}x{grids[0][1]} grid, this run asks for "
                                f"{grids[1][0]}x{grids[1][1]}; resume with the same --grid or "
                                "train into a new --out (in Python: another out_dir)")
        check_resume_config(saved, settings, out_dir, free=())
    return manifest


# ---------------------------------------------------------------------------- the run
class RunControl(Control):
    """A :class:`Control` with Ctrl-C (a :class:`StopGuard`) and throttled checkpoints.

    ``collective``: under torchrun the batch rule's ranks must stop at the same epoch, so
    the stop flag is summed over them (one tiny all-reduce per epoch).
    """

    def __init__(self, guard: StopGuard, checkpoint: Checkpoint | None = None,
                 collective: bool = False, bar: Any = None) -> None:
        super().__init__()
        self.guard, self.checkpoint, self.collective = guard, checkpoint, collective
        self.bar = bar  # a tqdm bar over the epochs, or None

    def record(self, state: TrainState, epoch: int, qe: float, te: float, sigma: float,
               lr: float | None) -> None:
        super().record(state, epoch, qe, te, sigma, lr)
        if self.bar is not None and epoch > 0:  # epoch 0 is the start map
            self.bar.update(epoch - self.bar.n)
            self.bar.set_postfix(qe=f"{qe:.4g}", te=f"{te:.3f}", sigma=f"{sigma:.3g}")

    def step(self) -> None:
        self.guard.step()

    def should_stop(self) -> bool:
        stop = self.guard.should_stop()
        if self.collective:
            stop = bool(sum_over_ranks(np.array([float(stop)]))[0] > 0)
        return stop

    def steps_allowed(self) -> int | None:
        if self.checkpoint is not None and self.checkpoint.every_s <= 0:  # after every epoch
            return 1
        if self.guard.interrupt_after is None:
            return None
        return max(1, self.guard.interrupt_after - self.guard.steps)

    def epoch_done(self, state: TrainState, sync: Callable[[], np.ndarray] | None = None) -> None:
        if self.checkpoint is None:
            return
        if self.checkpoint.due():
            self.checkpoint.write(self.timed(state), None if sync is None else sync())

    def timed(self, state: TrainState) -> TrainState:
        """``state`` with the clock of this process added (saved, then continued)."""
        return TrainState(**{**vars(state),
                             "seconds": state.seconds + time.perf_counter() - self.wall0,
                             "cpu_seconds": state.cpu_seconds + time.process_time() - self.cpu0})


def _planned_epochs(settings: TrainSettings, n_samples: int) -> int:
    if settings.algorithm == "batch":
        return settings.epochs
    return -(-settings.total_steps(n_samples) // n_samples)  # passes over the data, rounded up


def _where(state: TrainState, settings: TrainSettings, n_samples: int) -> str:
    if settings.algorithm == "batch" or state.step == state.epoch * n_samples:
        return f"after epoch {state.epoch}"
    done = state.step - state.epoch * n_samples
    return f"in epoch {state.epoch + 1} after {done:,} of {n_samples:,} samples"


def train_run(runner: Any, X: np.ndarray, state: TrainState, grid: Grid,
              settings: TrainSettings, checkpoint: Checkpoint | None = None,
              collective: bool = False, progress: bool = False) -> TrainState:
    """Train ``state`` to the end with ``runner``, deferring Ctrl-C to the next safe point;
    ``progress``: a bar over the epochs on stderr (see :mod:`dlcourse.engine.progress`).

    Returns:
        the finished state (its weights uncentred); ``checkpoint`` (when given) holds it too.

    Raises:
        TrainingInterrupted: Ctrl-C (or ``DLCOURSE_INTERRUPT_AFTER``), after the checkpoint is
            written; a second Ctrl-C stops at once and keeps the previous checkpoint.
    """
    if state.finished:  # resuming a run that had ended: nothing left to train
        return state
    runner.warm()  # numba's one-time start, before the clock (RunControl)
    bar = None
    if progress:
        from dlcourse.engine.progress import progress as progress_bar

        epochs = state.history[-1]["epoch"] if state.history else 0
        bar = progress_bar(None, total=_planned_epochs(settings, len(X)), desc="som",
                           unit="epoch")
        bar.update(epochs)
    with StopGuard() as guard, closing(bar) if bar is not None else nullcontext():
        control = RunControl(guard, checkpoint, collective, bar)
        try:
            state = runner.train(X, state, grid, settings, control)
        except KeyboardInterrupt:
            raise stopped_at_once(None if checkpoint is None else checkpoint.path) from None
        if state.stopped:  # TrainingInterrupted follows, once the checkpoint is written
            guard.stopped()
    if checkpoint is not None:  # the run's last checkpoint: a Ctrl-C now waits for it
        with StopGuard(at_end=True) if not state.stopped else nullcontext():
            checkpoint.write(control.timed(state))
    if state.stopped:
        # the ranks stopped together: none leaves before rank 0's checkpoint is on disk
        # (torchrun stops the other processes as soon as one ends)
        if collective:
            barrier()
        where = _where(state, settings, len(X))
        if checkpoint is None:
            raise TrainingInterrupted(f"interrupted {where}; no output folder, so nothing was "
                                      "saved")
        raise TrainingInterrupted(f"interrupted {where}; checkpoint saved to {checkpoint.path}; "
                                  f"{RESUME_HINT}")
    return state
