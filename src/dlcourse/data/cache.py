"""The local cache of data sets: where it is, which files are verified, a lock per data set,
and what each part of it takes on disk (``dlcourse data list``, ``dlcourse data remove``).

Every file is checked against its sha256 when it enters the cache. Re-hashing 250 MB at every
command would be slow, so a verified file is remembered in ``.verified.json`` with its sha256,
inode, size, and modification and change times in nanoseconds: an edit, a replacement or a copy
over it changes one of them and the file is hashed again. ``dlcourse data verify`` re-hashes
everything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dlcourse.data.names import canonical_name
from dlcourse.data.registry import DATASETS
from dlcourse.data.sources import Dataset, UrlSource
from dlcourse.engine.files import write_json
from dlcourse.errors import ChecksumError, DlcourseError, InputError

log = logging.getLogger(__name__)
CHUNK = 1 << 20
#: cache folders that commands fill at run time from other data -> what they hold; removing
#: them costs only the time to make them again (``dlcourse data remove --derived``)
DERIVED_FOLDERS = {"features": "vision's image features",
                   "minilm-words": "classify's minilm-words vectors"}
#: every folder dlcourse keeps in the cache root (:func:`cache_folder`); removing "everything"
#: touches nothing else
CACHE_FOLDERS = ("datasets", "downloads", "weights", *DERIVED_FOLDERS)


def cache_dir() -> Path:
    """The cache root: ``$DLCOURSE_HOME`` or the user's cache directory (``~/.cache/dlcourse``)."""
    home = os.environ.get("DLCOURSE_HOME")
    if home:
        path = Path(home).expanduser()
        if path.exists() and not path.is_dir():
            raise DlcourseError(f"DLCOURSE_HOME={home} is a file, not a folder; point it at a "
                                "folder (made when first needed)")
        return path
    import platformdirs

    return Path(platformdirs.user_cache_dir("dlcourse"))


def cache_folder(name: str) -> Path:
    """``<cache root>/<name>``, one of :data:`CACHE_FOLDERS`: a store kept anywhere else in the
    cache would escape ``dlcourse data list`` and ``dlcourse data remove``."""
    if name not in CACHE_FOLDERS:
        raise InputError(f"unknown cache folder {name!r}; add it to CACHE_FOLDERS")
    return cache_dir() / name


def get_dataset(name: str) -> Dataset:
    """The registry entry for ``name`` (old spellings accepted); DlcourseError listing the names
    when unknown.

    Args:
        name: a data set's name, as ``dlcourse data list`` shows it (``"lee"``, ``"cifar-10"``).
    """
    key = canonical_name(name)
    try:
        return DATASETS[key]
    except KeyError:
        raise DlcourseError(
            f"unknown data set {name!r}; choose one of {', '.join(sorted(DATASETS))}"
        ) from None


def dataset_dir(name: str) -> Path:
    """Where data set ``name``'s files live in the cache.

    Args:
        name: a registered name (see :func:`get_dataset`); the folder need not exist yet.
    """
    return cache_folder("datasets") / get_dataset(name).name


def download_path(source: UrlSource) -> Path:
    """Where ``source``'s download is kept: a copy put there by hand is checked and used too."""
    return cache_folder("downloads") / source.url.rstrip("/").rsplit("/", 1)[-1]


def file_hash(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def check_checksum(path: Path, checksum: str | None) -> None:
    """Raise ChecksumError unless ``path`` matches ``checksum`` ("sha256:..", "md5:..",
    "sha256-prefix:..", or a bare sha256)."""
    if not checksum:
        return
    algorithm, _, expected = checksum.rpartition(":")
    algorithm = algorithm or "sha256"
    if algorithm == "sha256-prefix":
        ok = file_hash(path, "sha256").startswith(expected)
    else:
        ok = file_hash(path, algorithm) == expected
    if not ok:
        raise ChecksumError(
            f"{path.name}: {algorithm} does not match the registry ({expected[:16]}...)"
        )


def _stat_key(file: Path) -> list[int]:
    # ctime cannot be set back by a user (unlike mtime with `touch -r`), and the inode changes
    # when a file is replaced: an edit shows in one of these unless it lands in the same clock
    # tick as the fetch; `dlcourse data verify` re-hashes to rule that out too
    stat = file.stat()
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


class Verified:
    """The record of files already hashed in one data set's cache folder."""

    def __init__(self, directory: Path):
        self.path = directory / ".verified.json"
        try:
            self.seen = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.seen = {}

    def ok(self, file: Path, sha256: str | None, rehash: bool = False) -> bool:
        """True when ``file`` exists and matches ``sha256`` (or, where none is published, the
        hash recorded at its first download); hashes only when the file changed or ``rehash``."""
        if not file.exists():
            return False
        key = _stat_key(file)
        record = self.seen.get(file.name)
        if (not rehash and record and record.get("stat") == key
                and (sha256 is None or record["sha256"] == sha256)):
            return True
        actual = file_hash(file)
        expected = sha256 or (record or {}).get("sha256")  # first download's hash if unpublished
        if expected and actual != expected:
            return False
        self.seen[file.name] = {"stat": key, "sha256": actual}
        return True

    def save(self) -> None:
        """Write the record (skipped when the cache is read-only: it is only a speed-up)."""
        with contextlib.suppress(PermissionError, OSError):
            write_json(self.path, self.seen)


def is_available(name: str) -> bool:
    """True when every file of ``name`` is in the cache and checks out.

    Args:
        name: a registered name (see :func:`get_dataset`); files are hashed only if changed.
    """
    ds = get_dataset(name)
    directory = dataset_dir(name)
    verified = Verified(directory)
    return all(verified.ok(directory / f, sha) for f, sha in ds.files.items())


def verify(name: str) -> list[str]:
    """Re-hash every cached file of ``name``; return the files that are missing or corrupt.

    Args:
        name: a registered name (see :func:`get_dataset`).
    """
    ds = get_dataset(name)
    directory = dataset_dir(name)
    verified = Verified(directory)
    bad = [f for f, sha in ds.files.items() if not verified.ok(directory / f, sha, rehash=True)]
    if directory.exists():
        verified.save()
    return bad


@contextlib.contextmanager
def dataset_lock(name: str) -> Iterator[None]:
    """Hold an exclusive lock on data set ``name`` while it is fetched.

    Under torchrun every rank may ask for the same data at once; the first takes the lock and
    fetches, the others wait and then find the files verified, so no two processes write the
    same file (on POSIX and Windows alike: the filelock package). The lock file lives in the
    temporary folder (keyed by the cache path), so a failed fetch leaves the cache exactly as
    it was.
    """
    key = hashlib.sha256(str(dataset_dir(name).resolve()).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"dlcourse-{getattr(os, 'getuid', lambda: 0)()}-{key}.lock"
    from filelock import FileLock  # fcntl on POSIX, msvcrt on Windows

    with FileLock(path):
        yield


def writable_cache(directory: Path) -> bool:
    """True when ``directory`` (or its nearest existing parent) can be written."""
    probe = directory
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return os.access(probe, os.W_OK | os.X_OK)


def disk_usage(path: Path) -> int:
    """Bytes of the files at or under ``path`` (0 when it does not exist; links not followed).

    Args:
        path: a file or folder.
    """
    path = Path(path)
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.lstat(os.path.join(root, f)).st_size for f in files)
    return total


def dataset_paths(name: str) -> list[Path]:
    """What data set ``name`` holds in the cache: its folder, its downloaded archives and any
    partial download (``.part``, which the next fetch resumes)."""
    ds = get_dataset(name)
    archives = [download_path(s) for s in ds.sources if isinstance(s, UrlSource)]
    partial = [a.with_name(a.name + ".part") for a in archives]
    return [dataset_dir(ds.name), *archives, *partial]


def remove_paths(paths: list[Path]) -> int:
    """Delete ``paths`` (folders or files, absent ones skipped); returns the bytes freed.

    Raises:
        DlcourseError: the cache cannot be written (checked before anything is deleted).
    """
    present = [p for p in paths if p.exists() or p.is_symlink()]
    for path in present:
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise DlcourseError(f"cannot remove {path}: its folder is not writable")
    freed = sum(disk_usage(p) for p in present)
    for path in present:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    return freed


def remove(name: str) -> int:
    """Delete data set ``name`` from the cache (its files and downloaded archives); returns the
    bytes freed, 0 when it was not there. ``fetch`` brings it back.

    Args:
        name: a registered name (see :func:`get_dataset`).

    Raises:
        DlcourseError: an unknown name, or a cache folder that is not writable.

    Example:
        >>> remove("wordsim353") > 0  # doctest: +SKIP
        True
    """
    with dataset_lock(get_dataset(name).name):  # never under a fetch of the same set
        return remove_paths(dataset_paths(name))
