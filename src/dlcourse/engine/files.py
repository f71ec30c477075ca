"""Atomic, umask-respecting file writing (no torch): every output file goes through here.

A file is written to a temporary name in the same folder, flushed to disk and renamed over the
target, so a crash or ``kill -9`` leaves either the previous file or the new one, never half of
one. ``tempfile.mkstemp`` creates files with mode 0600; the final file gets the mode any other
tool would give it (``0666 & ~umask``), so others on a shared machine can read a run.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from dlcourse.errors import InputError


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back (no threads write meanwhile
    # in the short window: this runs once per process and is cached)
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return _UMASK


_UMASK: int | None = None
_STARTED = time.time()  # temporary files older than this process are no writer's of ours
# mkstemp's names here: "." + the target's name or stem + "." + 8 random characters + a suffix
_TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.(tmp|pt|safetensors|npz|npy|png|svg|pdf)")


def _finish(tmp_name: str, path: Path) -> None:
    """Give the temporary file the usual permissions and rename it over ``path``."""
    os.chmod(tmp_name, 0o666 & ~_umask())
    os.replace(tmp_name, path)
    with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_out_dir(path: str | os.PathLike, option: str = "--out") -> Path:
    """Return ``path`` if it is, or can become, a writable directory; else a one-line error.

    Nothing is created here: a bad invocation must leave nothing behind.
    """
    if not str(path).strip():  # Path("") is ".": a run would land in the working folder
        raise InputError(f"{option} is empty; name a folder (e.g. {option} runs/x)")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path} exists and is not a directory; choose a folder")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"{option} {path}: {probe} is a file, so the folder cannot be made")
    if not os.access(probe, os.W_OK | os.X_OK) or not _can_write_in(probe):
        raise InputError(f"{option} {path} is not writable ({probe} does not allow writing); "
                            "choose another folder")
    return path


def _can_write_in(folder: Path) -> bool:
    """Whether a file can really be made in ``folder`` (a hidden one, removed at once): root
    passes every ``os.access`` test, but not a read-only mount or /proc."""
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".dlcourse-probe-"):
            return True
    except OSError:
        return False


def make_dirs(path: str | os.PathLike) -> Path:
    """``mkdir -p`` with the usual permissions; returns the path.

    Args:
        path: the folder to create, with any missing parents; an existing one is fine.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds.

    Args:
        path: the file to write; missing parent folders are created.
        mode: the ``open`` mode, ``"w"`` (text) or ``"wb"`` (binary, any mode with ``b``).
        encoding: the text encoding; ignored in binary modes.

    Example:
        >>> with atomic_write(tmp / "out.txt") as f:   # doctest: +SKIP
        ...     f.write("done")
    """
    path = Path(path)
    make_dirs(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _finish(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for writers that take a file name (savefig, np.save).

    The temporary path keeps ``path``'s suffix so format detection works; it is renamed over
    ``path`` when the block succeeds and removed otherwise.

    Args:
        path: the final file; missing parent folders are created.
    """
    path = Path(path)
    make_dirs(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp_name)
        with open(tmp_name, "rb+") as handle:  # the writer may not have synced
            os.fsync(handle.fileno())
        _finish(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def remove_stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files a killed writer left in ``folder``; returns them.

    ``kill -9`` (or a power cut) between a temporary file's creation and its rename leaves it
    beside the run's files, hidden. Only files older than this process are removed, so another
    writer still at work keeps its own.
    """
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        if not _TEMP_NAME.fullmatch(path.name):
            continue
        with contextlib.suppress(OSError):  # gone meanwhile, or not ours to remove
            if path.is_file() and path.stat().st_mtime < _STARTED:
                path.unlink()
                removed.append(path)
    return removed


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically; NaN and infinities become null (Python's
    ``NaN`` is not JSON: other readers refuse the file).

    Args:
        path: the file to write; missing parent folders are created.
        obj: JSON-serialisable data (dicts, lists, tuples, strings, numbers, None).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    with atomic_write(path) as handle:
        json.dump(_finite(obj), handle, indent=2, sort_keys=False, allow_nan=False)
        handle.write("\n")
    return Path(path)


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float (numpy's too) replaced by None."""
    if isinstance(obj, float):  # numpy.float64 is a float
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(value) for value in obj]
    return obj
