"""The shared engine: estimator contract, devices, seeding, the training loop, checkpoints.

Names are imported lazily (PEP 562) so that torch-free parts (``engine.files``,
``engine.config``, ``engine.estimator``) and the commands built on them never pay for
``import torch``: ``from dlcourse.engine import write_json`` stays cheap.
"""

from __future__ import annotations

import lazy_loader

# submodule -> the public names it provides, each imported on first use (PEP 562)
__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "config": ["Config", "param"],
    "estimator": ["Estimator"],
    "files": ["atomic_path", "atomic_write", "make_dirs", "write_json"],
    "checkpoint": ["load_checkpoint", "save_checkpoint"],
    "device": ["resolve_device", "to_device"],
    "early_stopping": ["EarlyStopping"],
    "fitting": ["fit"],
    "loop": ["evaluate", "train_one_epoch"],
    "progress": ["progress"],
    "seed": ["seed_everything"],
})
