"""Atomic file writing and the one checkpoint format every lesson uses.

A checkpoint is a plain dict of state dicts, tensors and plain-typed values (config, vocabulary,
classes, epoch, history). It is written to a temporary file and renamed, so a crash never leaves a
half-written file, and loaded with ``torch.load(weights_only=True)``: no pickled objects.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from dlcourse.engine.files import atomic_path, atomic_write, write_json
from dlcourse.errors import DlcourseError

__all__ = ["atomic_path", "atomic_write", "load_checkpoint", "save_checkpoint", "write_json"]

FORMAT = "dlcourse"
FORMAT_VERSION = 1


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Save a checkpoint dict atomically, stamped with the format name and version.

    ``state`` holds state dicts, tensors and plain values (str, int, float, bool, None and lists
    or dicts of them): everything ``torch.load(weights_only=True)`` reads back.

    Args:
        path: the file to write (``.pt``); missing parent folders are created.
        state: the checkpoint's entries; its keys ``format`` and ``format_version`` would
            override the stamp.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **state}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` with ``weights_only=True``.

    Raises DlcourseError when the file is missing, truncated or not a dlcourse checkpoint.

    Args:
        path: a file written by :func:`save_checkpoint`.
        map_location: the device the tensors are loaded onto (``torch.load``'s argument).

    Returns:
        the checkpoint dict, with its ``format`` and ``format_version`` entries.
    """
    path = Path(path)
    if not path.exists():
        raise DlcourseError(
            f"checkpoint {path} does not exist; train a model first or check the path"
        )
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say so in one line
        if isinstance(exc, pickle.UnpicklingError) or "weights_only" in str(exc):
            # torch's message ends with a hint to load with weights_only=False: never do that
            raise DlcourseError(
                f"refused to read {path}: it holds pickled Python objects, which could run code "
                "when loaded; dlcourse only reads tensors and plain values") from exc
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].split(". ")[0]
        if len(reason) > 120:
            reason = reason[:117] + "..."
        raise DlcourseError(f"cannot read checkpoint {path} ({reason}); the file is damaged or "
                            "not a dlcourse checkpoint") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise DlcourseError(f"{path} is not a dlcourse checkpoint")
    if state.get("format_version", 0) > FORMAT_VERSION:
        raise DlcourseError(
            f"{path} was written by a newer dlcourse "
            f"(format {state['format_version']}); upgrade dlcourse"
        )
    return state
