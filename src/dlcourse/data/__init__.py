"""The data layer: a registry of named data sets and weights, a cache, sources and readers.

>>> from dlcourse.data import fetch
>>> directory = fetch("lee")          # doctest: +SKIP
"""

from dlcourse.data.cache import (
    cache_dir,
    dataset_dir,
    disk_usage,
    get_dataset,
    is_available,
    remove,
    verify,
)
from dlcourse.data.fetch import download, fetch
from dlcourse.data.registry import ALIASES, DATASETS, canonical_name
from dlcourse.data.sources import Dataset, DebianSource, PyPISource, UrlSource

__all__ = [
    "ALIASES",
    "DATASETS",
    "Dataset",
    "DebianSource",
    "PyPISource",
    "UrlSource",
    "cache_dir",
    "canonical_name",
    "dataset_dir",
    "disk_usage",
    "download",
    "fetch",
    "get_dataset",
    "is_available",
    "remove",
    "verify",
]
