"""The embedding trainers under torchrun: which rank am I, and the few collectives they need.

One process never imports torch here: :func:`process_group` reads ``WORLD_SIZE`` first, and
the collectives are only called when there is more than one process.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

import numpy as np

log = logging.getLogger(__name__)


def process_group() -> tuple[int, int]:
    """``(rank, world size)`` of the torchrun process group; ``(0, 1)`` without one.

    Reads ``WORLD_SIZE`` first so that one process never imports torch (the numba trainers do
    not need it). Under torchrun without ``init_distributed`` it warns that every process will
    train alone, and returns ``(0, 1)``.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    from dlcourse.engine.distributed import is_distributed, rank

    if not is_distributed():
        log.warning("WORLD_SIZE=%d but no process group: call dlcourse.engine.distributed."
                    "init_distributed() first; this process trains alone on all the data", world)
        return 0, 1
    return rank(), world


def shard_sentences(corpus: Iterable[list[str]], rank: int, world: int
                    ) -> Iterable[list[str]]:
    """Every ``world``-th sentence of ``corpus`` from ``rank`` (the corpus itself for one process).

    >>> list(shard_sentences([["a"], ["b"], ["c"]], 1, 2))
    [['b']]
    """
    if world == 1:
        return corpus
    return (sentence for i, sentence in enumerate(corpus) if i % world == rank)


def any_rank(flags: list[bool], world: int) -> list[bool]:
    """Each flag true on at least one rank (one tiny all-reduce; the flags as given alone).

    Ranks that must act together (stop, write a checkpoint whose rows they gather) agree here,
    since each rank's own Ctrl-C and clock differ.
    """
    if world <= 1:
        return list(flags)
    from dlcourse.engine.distributed import all_reduce_sum

    return [v > 0 for v in all_reduce_sum([float(f) for f in flags])]


def all_gather(array: np.ndarray) -> list[np.ndarray]:
    """Every rank's ``array`` (same dtype and trailing shape, any length), in rank order."""
    import torch
    import torch.distributed as dist

    on_gpu = dist.get_backend() == "nccl"  # nccl moves device tensors only
    device = torch.device("cuda", torch.cuda.current_device()) if on_gpu else torch.device("cpu")
    local = torch.from_numpy(np.ascontiguousarray(array)).to(device)
    sizes = [torch.zeros(1, dtype=torch.int64, device=device)
             for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, torch.tensor([len(array)], dtype=torch.int64, device=device))
    sizes = [int(n) for n in sizes]
    padded = local.new_zeros((max(sizes), *local.shape[1:]))  # all_gather needs equal shapes
    padded[:len(local)] = local
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return [part[:n].cpu().numpy() for part, n in zip(parts, sizes)]


def share_rows(arrays: list[np.ndarray], owned: list[np.ndarray], rank: int) -> None:
    """Copy the rows ``owned[k]`` of ``arrays`` (each (V, ...)) from rank k to every rank."""
    views = [a.reshape(len(a), -1) for a in arrays]  # (V, width) views of contiguous arrays
    mine = np.hstack([v[owned[rank]] for v in views])
    for k, part in enumerate(all_gather(mine)):
        if k == rank:
            continue
        col = 0
        for v in views:
            v[owned[k]] = part[:, col:col + v.shape[1]]
            col += v.shape[1]
