"""Ctrl-C as a request that training honours at the next safe point (torch-free).

A KeyboardInterrupt raised in the middle of ``optimizer.step()`` or of a numba kernel leaves
the weights half-updated, and no checkpoint taken then can resume to the same model. Inside
:class:`StopGuard` the first Ctrl-C (or SIGTERM) only sets a flag; the trainer checks it between
steps, saves a checkpoint that records exactly where it stopped and raises
:class:`~dlcourse.errors.TrainingInterrupted`. A second Ctrl-C stops at once, as usual.

Before a trainer's guard is in place a Ctrl-C stops the command at once, except while a module
is being imported or numba compiles or loads a kernel (:func:`sigint_after_imports`): a
KeyboardInterrupt raised inside ``import torch`` leaves torch or numpy half-initialised, one
raised in numba's compiler or in llvmlite's callbacks leaves LLVM's state broken, and what
follows is a traceback, a crash, a hang or an interrupt that is swallowed, never the one-line
stop.

``DLCOURSE_INTERRUPT_AFTER=N`` makes the guard act as if Ctrl-C came after step N (counted
over the whole run). The tests use it to interrupt every trainer at a chosen point, in-process
or through the CLI; it is also a way to try ``--resume`` by hand.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dlcourse.engine.distributed import is_main_process
from dlcourse.errors import TrainingInterrupted

log = logging.getLogger(__name__)

ENV_INTERRUPT_AFTER = "DLCOURSE_INTERRUPT_AFTER"
#: how an interrupted run with a checkpoint goes on, for command-line and Python users alike
RESUME_HINT = "run the same command with --resume (in Python: fit again with resume=True)"
#: a second stop signal this soon after the first is the same stop delivered twice (a person
#: cannot press Ctrl-C twice this fast; ``timeout -s INT`` signals the command and its group)
SAME_STOP_S = 0.2
#: how long a Ctrl-C that came during an import waits before it is delivered again
RETRY_S = 0.05
_IMPORT_FRAMES = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")
# numba's compiler and cache loader, and llvmlite's ctypes callbacks: Python code that must not
# be cut in the middle either (a compiled kernel that runs has no Python frame)
_COMPILER_DIRS = tuple(f"{os.sep}{name}{os.sep}" for name in ("numba", "llvmlite"))
# set when a guard's run stopped for Ctrl-C: the command is ending (its checkpoint is saved, its
# one line on the way), and a further Ctrl-C in :func:`sigint_after_imports`'s block is
# ignored instead of raising into the unwinding (a traceback, or "Exception ignored in
# tqdm.__del__")
_ending = False
# set by the dlcourse program (cli.launch): its process ends when the command does
_program = False


def _importing(frame: types.FrameType | None) -> bool:
    """True when ``frame`` or a caller of it is Python's import machinery or numba's compiler."""
    while frame is not None:
        name = frame.f_code.co_filename
        if name in _IMPORT_FRAMES or any(part in name for part in _COMPILER_DIRS):
            return True
        frame = frame.f_back
    return False


def _sigint_after_imports(signum, frame) -> None:
    if _ending:  # the run stopped already and is saying so: nothing left to interrupt
        return
    if _importing(frame):  # deliver it again once the import or the compilation is done
        timer = threading.Timer(RETRY_S, os.kill, (os.getpid(), signal.SIGINT))
        timer.daemon = True
        timer.start()
        return
    raise KeyboardInterrupt


def command_ends_process() -> None:
    """Say that this process ends with the command run in :func:`sigint_after_imports` (the
    ``dlcourse`` program; not a test or a notebook calling ``main``): Ctrl-C is then ignored
    from the end of that block to the process's exit, where Python's handler would print a
    traceback under the command's last line."""
    global _program
    _program = True


@contextmanager
def sigint_after_imports() -> Iterator[None]:
    """A block (a whole command) in which Ctrl-C waits for the import or numba compilation in
    progress, if any, then stops the program as usual; a :class:`StopGuard` entered inside
    takes over and gives it back on exit. Only in the main thread, and only over Python's own
    handler."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    global _ending
    _ending = False
    signal.signal(signal.SIGINT, _sigint_after_imports)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN if _program else signal.default_int_handler)


@contextmanager
def sigint_ends_at_once() -> Iterator[None]:
    """A block of one long C call that Python's handlers cannot break into (joining torchrun's
    process group, which waits for every process): Ctrl-C ends the process at once, as it ends
    a C program; nothing is saved before it. Only in the main thread; an ignored SIGINT stays
    ignored."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, None):
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class StopGuard:
    """Defer Ctrl-C to the trainer's next :meth:`should_stop` check.

    Example:
        >>> with StopGuard() as guard:             # doctest: +SKIP
        ...     for batch in loader:
        ...         train_step(batch)
        ...         if guard.should_stop():
        ...             save_checkpoint(); raise TrainingInterrupted(...)
    """

    def __init__(self, interrupt_after: int | None = None, at_end: bool = False):
        #: the block is the end of a finished run (its last checkpoint and model file): a
        #: first Ctrl-C waits for those writes, which a stop would lose, and says so
        self.at_end = at_end
        if interrupt_after is None:
            value = os.environ.get(ENV_INTERRUPT_AFTER, "")
            interrupt_after = int(value) if value.strip().isdigit() else None
        self.interrupt_after = interrupt_after
        self.steps = 0
        self.requested = False
        self.honoured = False  # the trainer stopped for the request (see stopped)
        self._first_signal = -SAME_STOP_S
        self._previous: dict[int, object] = {}

    def _on_sigint(self, signum, frame) -> None:
        now = time.monotonic()
        if self.requested and now - self._first_signal < SAME_STOP_S:
            return  # one stop sent twice: coreutils' timeout signals the process, then its group
        if self.requested:  # second Ctrl-C: the user wants out now
            self._restore()
            raise KeyboardInterrupt
        self.requested = True
        self._first_signal = now
        if not is_main_process():  # under torchrun every process gets the signal
            return
        if self.at_end:
            log.warning("training has finished: saving it first (press Ctrl-C again to stop "
                        "at once)")
        else:
            log.warning("stopping after the current step to save a checkpoint "
                        "(press Ctrl-C again to stop at once)")

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}

    def __enter__(self) -> StopGuard:
        if threading.current_thread() is threading.main_thread():
            # SIGTERM too (a scheduler's or `timeout`'s stop, torchrun passing one on): the
            # same checkpoint at the next safe point instead of the work since the last one lost
            for signum in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(signum) is signal.SIG_IGN:
                    continue  # ignored by the parent (nohup, a script's `cmd &`): it stays so
                self._previous[signum] = signal.signal(signum, self._on_sigint)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        global _ending
        self._restore()
        if exc_type is not None and self.requested:  # stopped for Ctrl-C: the command ends
            _ending = True
        if exc_type is None and self.requested and not self.honoured \
                and self.interrupt_after is None and not self.at_end and is_main_process():
            # the Ctrl-C came after the last safe point: say that it stopped nothing (once:
            # under torchrun it reached every process)
            log.warning("Ctrl-C came after the last safe point: training had finished, so the "
                        "run completes and saves as usual")

    def step(self) -> None:
        """Count one finished training step (for ``DLCOURSE_INTERRUPT_AFTER``)."""
        self.steps += 1
        if self.interrupt_after is not None and self.steps >= self.interrupt_after:
            self.requested = True

    def should_stop(self) -> bool:
        """True once Ctrl-C was pressed (or the simulated interrupt is due)."""
        return self.requested

    def stopped(self) -> None:
        """Say that the trainer stopped for the request and returns normally from the guard's
        block (it raises :class:`~dlcourse.errors.TrainingInterrupted` after it), so that the
        exit does not report a Ctrl-C that came too late to stop anything."""
        self.honoured = True


@contextmanager
def simulated_interrupt_paused() -> Iterator[None]:
    """A block whose guards ignore ``DLCOURSE_INTERRUPT_AFTER``: a set-up step that trains a
    model of its own inside another fit (classify's word2vec vectors), whose steps must not
    count as the outer trainer's."""
    value = os.environ.pop(ENV_INTERRUPT_AFTER, None)
    try:
        yield
    finally:
        if value is not None:
            os.environ[ENV_INTERRUPT_AFTER] = value


def say_resuming(done: int, epochs: int, inside: str = "") -> None:
    """Log where a resumed run goes on: ``resuming at epoch 3`` (``inside``: where in that
    epoch, e.g. ", batch 6"), or ``run had finished its 5 epochs`` (its outputs are written
    again)."""
    if done >= epochs:
        log.info("run had finished its %d epoch%s", done, "s" * (done != 1))
    else:
        log.info("resuming at epoch %d%s", done + 1, inside)


def stopped_at_once(checkpoint: str | os.PathLike | None, where: str = "") -> TrainingInterrupted:
    """The error of a second Ctrl-C (``where``: e.g. " in epoch 2"): it names the checkpoint an
    earlier step left, which ``--resume`` continues from, or says that none was written yet."""
    if checkpoint is None:
        return TrainingInterrupted(f"stopped at once{where}")
    if Path(checkpoint).exists():
        return TrainingInterrupted(f"stopped at once{where}; the checkpoint {checkpoint} from "
                                   "before is kept and --resume continues from it")
    return TrainingInterrupted(f"stopped at once{where}, before the first checkpoint; run the "
                               "same command again (without --resume)")
