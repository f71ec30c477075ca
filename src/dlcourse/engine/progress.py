"""Progress bars for long jobs: tqdm on the main process, silent elsewhere or when disabled."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from dlcourse.engine.distributed import is_main_process

T = TypeVar("T")


def progress_enabled() -> bool:
    """Bars show on the main process unless DLCOURSE_PROGRESS=0."""
    return is_main_process() and os.environ.get("DLCOURSE_PROGRESS", "1") != "0"


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
    """
    from tqdm.auto import tqdm

    if disable is None:
        disable = not progress_enabled()
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        disable=disable,
        leave=leave,
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=0.5,
    )
