"""The shared engine: devices, seeding, the training loop, checkpoints and progress."""

from dlcourse.engine.checkpoint import (
    atomic_write,
    load_checkpoint,
    save_checkpoint,
    write_json,
)
from dlcourse.engine.device import resolve_device, to_device
from dlcourse.engine.loop import EarlyStopping, evaluate, fit, train_one_epoch
from dlcourse.engine.progress import progress
from dlcourse.engine.seed import seed_everything

__all__ = [
    "EarlyStopping",
    "atomic_write",
    "evaluate",
    "fit",
    "load_checkpoint",
    "progress",
    "resolve_device",
    "save_checkpoint",
    "seed_everything",
    "to_device",
    "train_one_epoch",
    "write_json",
]
