"""Progress bars for long jobs: tqdm on the main process, silent elsewhere or when disabled.

On a terminal (or in a notebook) the bar redraws itself; on a pipe or in a log file, where
carriage returns would leave clutter glued to the next line, the same bar is written as a
plain line at most every :data:`LINE_INTERVAL` seconds (short jobs print none: their
trainers' per-epoch lines and results say the rest).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from dlcourse.engine.distributed import is_main_process

T = TypeVar("T")

#: seconds between two progress lines when stderr is not a terminal
LINE_INTERVAL = 30.0


def progress_enabled() -> bool:
    """Progress shows on the main process unless DLCOURSE_PROGRESS=0."""
    return is_main_process() and os.environ.get("DLCOURSE_PROGRESS", "1") != "0"


def interactive() -> bool:
    """stderr redraws a bar: a terminal, a notebook, or DLCOURSE_PROGRESS=1 (forced)."""
    stream = sys.stderr
    return (os.environ.get("DLCOURSE_PROGRESS") == "1" or "ipykernel" in sys.modules
            or bool(stream is not None and stream.isatty()))


def _zero_columns(stream) -> bool:
    """Whether ``stream`` is a terminal that reports a width of 0 columns."""
    try:
        return stream.isatty() and os.get_terminal_size(stream.fileno()).columns == 0
    except (AttributeError, OSError, ValueError):  # a notebook's stream has no descriptor
        return False


class _Lines:
    """A file for tqdm that keeps its latest status and writes it as one line at most every
    ``every`` seconds (a bar's redraws are ``\\r`` + status)."""

    def __init__(self, stream, every: float):
        self.stream, self.every = stream, every
        self.last = time.monotonic()  # the first line comes ``every`` seconds in
        self.status = ""

    def write(self, text: str) -> None:
        status = text.replace("\r", "").strip()
        if status:
            self.status = status

    def flush(self) -> None:
        now = time.monotonic()
        if self.status and now - self.last >= self.every:
            self.stream.write(self.status + "\n")
            self.stream.flush()
            self.last, self.status = now, ""


def progress(
    iterable: Iterable[T],
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    disable: bool | None = None,
    leave: bool = False,
) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar on stderr (``bar.set_postfix`` shows loss and rate).

    Returns a tqdm instance (iterable) so callers can show loss and throughput.

    Args:
        iterable: what to iterate over.
        total: the number of items, for the bar's length; None uses ``len(iterable)`` if any.
        desc: the bar's label.
        unit: the name of one item in the rate (``"it/s"``).
        disable: hide the bar; None shows it on the main process unless DLCOURSE_PROGRESS=0.
        leave: keep the finished bar on screen (terminals and notebooks only).
    """
    from tqdm.auto import tqdm

    if disable is None:
        disable = not progress_enabled()
    redraw = interactive()
    # a terminal that reports a 0 x 0 size (`script`, a bare pty) got no bar: 80 x 24 there
    unsized = redraw and _zero_columns(sys.stderr)
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        disable=disable,
        leave=leave and redraw,
        file=sys.stderr if redraw else _Lines(sys.stderr, LINE_INTERVAL),
        dynamic_ncols=redraw and not unsized,
        ncols=80 if unsized else None,
        nrows=24 if unsized else None,  # tqdm draws nothing in 0 rows either
        mininterval=0.5 if redraw else LINE_INTERVAL,
    )
