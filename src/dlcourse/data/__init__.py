"""The data layer: a registry of named data sets and weights, a cache, sources and readers.

>>> from dlcourse.data import fetch
>>> directory = fetch("lee")          # doctest: +SKIP
"""

from dlcourse.data.fetch import cache_dir, dataset_dir, download, fetch, get_dataset, is_available
from dlcourse.data.registry import DATASETS, Dataset, DebianSource, PyPISource, UrlSource

__all__ = [
    "DATASETS",
    "Dataset",
    "DebianSource",
    "PyPISource",
    "UrlSource",
    "cache_dir",
    "dataset_dir",
    "download",
    "fetch",
    "get_dataset",
    "is_available",
]
