"""The shared engine: estimator contract, devices, seeding, the training loop, checkpoints.

Names are imported lazily (PEP 562) so that torch-free parts (``engine.files``,
``engine.config``, ``engine.estimator``) and the commands built on them never pay for
``import torch``: ``from dlcourse.engine import write_json`` stays cheap.
"""

from __future__ import annotations

import importlib

# public name -> module that defines it
_EXPORTS = {
    "Config": "config",
    "param": "config",
    "Estimator": "estimator",
    "atomic_path": "files",
    "atomic_write": "files",
    "make_dirs": "files",
    "write_json": "files",
    "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "resolve_device": "device",
    "to_device": "device",
    "EarlyStopping": "fitting",
    "evaluate": "loop",
    "fit": "fitting",
    "train_one_epoch": "loop",
    "progress": "progress",
    "seed_everything": "seed",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'dlcourse.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dlcourse.engine.{_EXPORTS[name]}"), name)
    globals()[name] = value  # cache: the next lookup skips __getattr__
    return value


def __dir__() -> list[str]:
    return __all__
