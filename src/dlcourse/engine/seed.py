"""Seeding and RNG state capture, so that a seed and the data fix the trained weights."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all devices).

    On the CPU a seed and the data fix the result bit for bit either way. On CUDA the fastest
    cuDNN kernels are not deterministic; ``deterministic=True`` asks for the deterministic ones
    (slower for some layers), so it is an option rather than the default.

    Args:
        seed: the seed, an int (NumPy and child processes' ``PYTHONHASHSEED`` get
            ``seed % 2**32``).
        deterministic: use deterministic cuDNN kernels and turn off cuDNN's benchmark mode.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    # for child processes (it cannot change this one's); Python refuses values outside
    # 0..2**32-1 and every child would then fail at start-up
    os.environ.setdefault("PYTHONHASHSEED", str(seed % 2**32))
    torch.backends.cudnn.deterministic = bool(deterministic)
    if deterministic:
        torch.backends.cudnn.benchmark = False


def rng_state() -> dict:
    """All RNG states as checkpoint-safe values (tensors, ints, lists)."""
    np_state = np.random.get_state()
    state = {
        "python": _to_plain(random.getstate()),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` captured."""
    random.setstate(_to_tuple(state["python"]))
    np_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            np_state["keys"].cpu().numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    # RNG states are CPU ByteTensors whatever device the checkpoint was loaded onto
    torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") and torch.cuda.is_available():
        # a run resumed on fewer (or more) GPUs restores the devices both runs have
        for index, cuda_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state.cpu(), index)


def _to_plain(value):
    if isinstance(value, tuple):
        return [_to_plain(v) for v in value]
    return value


def _to_tuple(value):
    if isinstance(value, list):
        return tuple(_to_tuple(v) for v in value)
    return value


def gather_rng_state(state: dict) -> dict:
    """``state`` (this rank's :func:`rng_state`) as a checkpoint written by rank 0 keeps it:
    under torchrun ``{"ranks": [every rank's state]}``, since ranks that draw different amounts
    (dropout on batches of different shapes) hold different states; else ``state`` itself.
    Collective: every rank calls it."""
    from dlcourse.engine.distributed import active_ranks

    _, world = active_ranks()
    if world == 1:
        return state
    import torch.distributed as dist

    states: list = [None] * world
    dist.all_gather_object(states, state)
    return {"ranks": states}


def rank_rng_state(saved: dict) -> dict:
    """This rank's state from what :func:`gather_rng_state` saved. A run with as many processes
    as the saved one gets its own, so it resumes bit for bit; with another number rank r takes
    saved rank r mod N (the random draws then differ from the run never stopped)."""
    if "ranks" not in saved:
        return saved
    from dlcourse.engine.distributed import active_ranks

    rank, _ = active_ranks()
    return saved["ranks"][rank % len(saved["ranks"])]
