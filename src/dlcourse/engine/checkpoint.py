"""Atomic file writing and the one checkpoint format every lesson uses.

A checkpoint is a plain dict of state dicts, tensors and plain-typed values (config, vocabulary,
classes, epoch, history). It is written to a temporary file and renamed, so a crash never leaves a
half-written file, and loaded with ``torch.load(weights_only=True)``: no pickled objects.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import torch

from dlcourse.errors import DlcourseError

FORMAT = "dlcourse"
FORMAT_VERSION = 1


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds.

    >>> with atomic_write(tmp / "out.txt") as f:   # doctest: +SKIP
    ...     f.write("done")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for writers that take a file name (savefig, np.save).

    The temporary path keeps ``path``'s suffix so format detection works; it is renamed over
    ``path`` when the block succeeds and removed otherwise.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp_name)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_write(path) as handle:
        json.dump(obj, handle, indent=2, sort_keys=False)
        handle.write("\n")
    return Path(path)


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Save a checkpoint dict atomically, stamped with the format name and version.

    ``state`` holds state dicts, tensors and plain values (str, int, float, bool, None and lists
    or dicts of them): everything ``torch.load(weights_only=True)`` reads back.
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
    """
    path = Path(path)
    if path.is_dir():
        path = path / "model.pt"
    if not path.exists():
        raise DlcourseError(
            f"checkpoint {path} does not exist; train a model first or check the path"
        )
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say so in one line
        raise DlcourseError(f"cannot read checkpoint {path}: {str(exc).splitlines()[0]}") from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise DlcourseError(f"{path} is not a dlcourse checkpoint")
    if state.get("format_version", 0) > FORMAT_VERSION:
        raise DlcourseError(
            f"{path} was written by a newer dlcourse "
            f"(format {state['format_version']}); upgrade dlcourse"
        )
    return state
