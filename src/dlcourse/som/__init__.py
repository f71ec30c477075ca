"""Self-organizing maps: the ``SOM`` estimator, its config, its grid and its strategy registries.

Names are imported on first use, so ``dlcourse.som.config`` (what ``dlcourse som --help``
reads) loads neither numpy nor torch.

>>> from dlcourse.som import SOM
>>> from sklearn.datasets import load_iris
>>> som = SOM(8, 8, topology="hexagonal", device="cpu").fit(load_iris().data)
>>> round(som.quantization_error_, 1) < 1.0
True
>>> SOM.load(som.save(tmp_dir)).weights_.shape      # doctest: +SKIP
(8, 8, 4)
"""

from __future__ import annotations

import importlib

_MODULES = {  # submodule -> the public names it provides
    "config": ("SOMConfig",),
    "estimator": ("SOM",),
    "functions": ("DECAYS", "DISTANCES", "NEIGHBORHOODS"),
    "grid": ("Grid",),
    "init": ("initial_weights", "top_components"),
    "measures": ("as_matrix",),
    "rules": ("batch_rule", "batch_update", "minibatch_rule", "minibatch_update"),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    """Import the submodule that defines ``name`` on first use (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'dlcourse.som' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dlcourse.som.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
