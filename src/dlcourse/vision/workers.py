"""How many worker processes vision uses: DataLoader workers for training batches and the
processes that decode a large image folder, from the cores this process may use."""

from __future__ import annotations

import os

MAX_AUTO_WORKERS = 8
PARALLEL_DECODE_FILES = 256   # fewer files decode faster than worker processes start


def available_cores() -> int:
    """CPU cores this process may use, split between the ranks on this machine under torchrun."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))


def default_num_workers(device_type: str, requested: int | None = None) -> int:
    """DataLoader workers for training batches: ``requested`` when given, else 0 on a CPU and
    up to 8 on a GPU.

    On a CPU the workers would compete with the training threads for the same cores, and
    batching in-memory uint8 images costs less than moving them between processes. On a GPU
    the main process should do little more than launch kernels: the workers gather and stack
    the next batches (and pin their memory) while the current step runs.
    """
    if requested is not None:
        return requested
    if device_type != "cuda":
        return 0
    return min(MAX_AUTO_WORKERS, max(0, available_cores() - 1))  # one core for the main process


def decode_workers(n_files: int, requested: int | None = None) -> int:
    """Worker processes that decode ``n_files`` image files: ``requested`` when given, else one
    per available core (up to 8) for folders large enough to repay starting them.

    Decoding happens once, before training, so it competes with nothing on either device.
    """
    if requested is not None:
        return requested
    cores = available_cores()
    return 0 if n_files < PARALLEL_DECODE_FILES or cores < 2 else min(MAX_AUTO_WORKERS, cores)
