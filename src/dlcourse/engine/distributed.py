"""Process-group facts from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK).

A single process is rank 0 of a world of 1, so lessons call these unconditionally.
"""

from __future__ import annotations

import os


def rank() -> int:
    """This process's global rank (0 without torchrun)."""
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    """This process's rank on its machine (0 without torchrun)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def world_size() -> int:
    """Number of processes in the run (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True on the process that logs, shows progress and writes files."""
    return rank() == 0
