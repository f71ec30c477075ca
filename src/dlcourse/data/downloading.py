"""One resumable, checksummed download (``http(s)://`` to a file), with a progress bar."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

from dlcourse.data.cache import CHUNK, check_checksum
from dlcourse.errors import ChecksumError, DlcourseError


class SourceFailed(DlcourseError):
    """One source could not provide the files; the next is tried (:func:`download` raises it
    for a failed or incomplete download)."""


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

    Args:
        url: what to download (an ``http(s)://`` URL).
        target: the file to write (a path); missing parent folders are made.
        checksum: ``"sha256:<hex>"``, ``"md5:<hex>"``, ``"sha256-prefix:<hex>"`` or a bare
            sha256; None checks nothing.
        show_progress: show a progress bar (on the main process, unless DLCOURSE_PROGRESS=0).
        timeout: seconds to wait for the connection and for each read.

    Returns:
        ``target``, as a Path.

    Raises:
        SourceFailed: the download failed or ended early (a DlcourseError; run again to
            resume it).
        ChecksumError: the file does not match ``checksum`` (it is deleted).
    """
    from dlcourse.engine.progress import progress

    target = Path(target)  # a str too
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
                    total=None if total is None else -(-(total - have) // CHUNK),  # blocks
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
        check_checksum(part, checksum)
    except ChecksumError:
        part.unlink()
        raise
    os.replace(part, target)
    return target
