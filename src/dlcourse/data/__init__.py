"""The data layer: a registry of named data sets and weights, a cache, sources and readers.

>>> from dlcourse.data import fetch
>>> directory = fetch("lee")          # doctest: +SKIP
"""

from __future__ import annotations

import lazy_loader

# submodule -> the public names it provides, imported on first use (PEP 562): a command that
# only reads a file (``som predict``, ``embed similar``) then never loads the downloader
# (urllib, tarfile, importlib.metadata)
__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "cache": ["cache_dir", "dataset_dir", "disk_usage", "get_dataset", "is_available", "remove",
              "verify"],
    "downloading": ["download"],
    "fetch": ["fetch"],
    "names": ["ALIASES", "canonical_name"],
    "registry": ["DATASETS"],
    "sources": ["Dataset", "DebianSource", "PyPISource", "UrlSource"],
})
