"""Running under torchrun: process-group set-up, model wrapping, samplers and reductions.

A single process is rank 0 of a world of 1, so lessons call these unconditionally and the same
code runs under ``torchrun --nproc_per_node=N -m dlcourse ...`` (gloo on CPU, nccl on CUDA).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from dlcourse.errors import ConfigError

_initialised_here = False


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


def is_distributed() -> bool:
    """True when running with more than one process and the process group is up."""
    import torch.distributed as dist

    return world_size() > 1 and dist.is_available() and dist.is_initialized()


def init_distributed(device=None):
    """Join the process group torchrun describes (no-op for a single process).

    The backend is nccl when ``device`` is CUDA, gloo otherwise. Returns the device this rank uses
    (see :func:`rank_device`).
    """
    global _initialised_here
    import torch
    import torch.distributed as dist

    from dlcourse.engine.interrupt import sigint_ends_at_once  # it reads is_main_process

    device = rank_device(device)
    if world_size() <= 1 or dist.is_initialized():
        return device
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    # it waits in C for every process: a Ctrl-C there was seen only when torchrun, 30 s later,
    # killed it (a process stopped before it joined is never coming)
    with sigint_ends_at_once():
        dist.init_process_group(backend=backend)
    _initialised_here = True
    return device


def rank_device(device=None):
    """The device this process uses: ``resolve_device(device)``, and under torchrun on CUDA the
    GPU ``LOCAL_RANK % device_count()`` (one GPU per rank, wrapping when ranks outnumber GPUs).

    Every lesson calls this instead of choosing a per-rank device itself.
    """
    import torch

    from dlcourse.engine.device import resolve_device

    device = resolve_device(device)
    if device.type == "cuda" and world_size() > 1:
        device = torch.device("cuda", local_rank() % torch.cuda.device_count())
    return device


def shutdown_distributed(wait: bool = True) -> None:
    """Leave the process group if this module created it.

    ``wait``: first wait for every rank (a normal end), so that no rank tears its connections
    down while a peer still reads from them (a gloo rank that did could abort at exit); False
    after an error, when some rank may never come.
    """
    global _initialised_here
    import torch.distributed as dist

    if _initialised_here and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()
        _initialised_here = False


@contextmanager
def process_group(device=None) -> Iterator[None]:
    """Run a command's block inside torchrun's process group; nothing at all (no torch) for a
    single process.

    Joins the group on entry (:func:`init_distributed`; ``init_distributed(device)`` inside
    the block returns this rank's device) and leaves it on exit. A block that ends normally
    first waits for every rank, so that no rank tears its connections down or exits while
    another still works, for instance rank 0 writing the outputs after training; after an
    error (or Ctrl-C) the group is left at once, since a barrier could wait for ranks that never
    come (torchrun then stops the others). Leaves a group it did not create untouched. A rank
    killed by a fatal signal (SIGABRT, SIGSEGV) prints its threads' Python stacks first
    (faulthandler), so that torchrun's summary is not all a bug report has.
    """
    if world_size() <= 1:
        yield
        return
    import faulthandler

    faulthandler.enable()
    init_distributed(device)
    finished = False
    try:
        yield
        finished = True
    finally:
        shutdown_distributed(wait=finished)


def wrap_model(model, device=None, *, find_unused_parameters: bool = False):
    """Wrap ``model`` in DistributedDataParallel when distributed; otherwise return it unchanged.

    ``find_unused_parameters``: some parameters get no gradient in some steps (e.g. layers
    still frozen during gradual unfreezing), which DDP must be told about.
    """
    if not is_distributed():
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device is not None and getattr(device, "type", "cpu") == "cuda" \
        else None
    return DistributedDataParallel(model, device_ids=ids,
                                   find_unused_parameters=find_unused_parameters)


def distributed_sampler(dataset, shuffle: bool = True, seed: int = 0, drop_last: bool = False):
    """A DistributedSampler over ``dataset`` when distributed, else None (use the default)."""
    if not is_distributed():
        return None
    from torch.utils.data import DistributedSampler

    return DistributedSampler(dataset, shuffle=shuffle, seed=seed, drop_last=drop_last)


def all_reduce_sum(values):
    """Sum a list of floats (or a tensor) over all ranks; unchanged for one process."""
    if not is_distributed():
        return values
    import torch
    import torch.distributed as dist

    tensor = (
        values if isinstance(values, torch.Tensor) else torch.tensor(values, dtype=torch.float64)
    )
    if dist.get_backend() == "nccl":
        tensor = tensor.cuda()
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor if isinstance(values, torch.Tensor) else tensor.cpu().tolist()


def barrier() -> None:
    """Wait for every rank (no-op for one process, which never imports torch here)."""
    if world_size() > 1 and is_distributed():
        import torch.distributed as dist

        dist.barrier()


@contextmanager
def main_process_first() -> Iterator[None]:
    """Run a block on rank 0 first; the other ranks wait for it at a barrier, then run it too.

    For work that fills a cache every rank then reads (minilm-words' store): it is done once
    instead of by every rank at the same time. For one process the block just runs.
    """
    if not is_distributed():
        yield
        return
    if not is_main_process():
        barrier()
    yield
    if is_main_process():
        barrier()


def shard(items, rank_: int | None = None, world: int | None = None):
    """This rank's share of a sequence: every ``world``-th item starting at ``rank``."""
    rank_ = rank() if rank_ is None else rank_
    world = world_size() if world is None else world
    return items[rank_::world]


def launch(args, nproc: int = 2, *, threads: int | None = 1, timeout: float | None = None,
           capture: bool = True, check: bool = False):
    """Run ``python -m torch.distributed.run --standalone --nproc_per_node=N ARGS`` on this machine.

    ``args`` is a script path and its arguments, or ``["-m", "dlcourse", ...]``. ``threads`` sets
    OMP_NUM_THREADS per process (None keeps the environment's). A process killed by a fatal
    signal (SIGABRT, SIGSEGV) prints the Python stack of every thread first (faulthandler).
    Returns the CompletedProcess (text output captured unless ``capture=False``); used by the
    tests and benchmarks.
    """
    import subprocess
    import sys

    env = {**os.environ, "DLCOURSE_PROGRESS": "0", "PYTHONFAULTHANDLER": "1"}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={nproc}", *map(str, args)]
    return subprocess.run(cmd, capture_output=capture, text=True, timeout=timeout, env=env,
                          check=check)


def launch_output(result) -> str:
    """What a :func:`launch` run's processes printed on stderr, warnings left out, for an error
    message: a rank's own last words come before torchrun's summary, so its tail alone can
    miss them (at most the first and last 4,000 characters)."""
    lines = [line for line in (result.stderr or "").splitlines()
             if "Warning" not in line and "warnings.warn" not in line]
    text = "\n".join(lines)
    return text if len(text) <= 8000 else f"{text[:4000]}\n...\n{text[-4000:]}"


def time_all_reduce(numel: int, steps: int = 20, device=None) -> float:
    """Milliseconds one all-reduce of ``numel`` float32 values takes on this process group
    (a bare gradient-sized exchange, for the benchmarks' communication figures)."""
    import time

    import torch
    import torch.distributed as dist

    buffer = torch.zeros(numel, device=device)
    dist.barrier()
    start = time.perf_counter()
    for _ in range(steps):
        dist.all_reduce(buffer)
    if buffer.is_cuda:
        torch.cuda.synchronize(buffer.device)
    return 1e3 * (time.perf_counter() - start) / steps


class RankBatchSampler:
    """This rank's part of every global batch of a batch sampler: items r, r + N, r + 2N ...

    Every rank holds the same ``batch_sampler`` (same seed; ``set_epoch`` is passed on), so the
    ranks see the same global batches and together cover each one exactly once; with DDP
    averaging the gradients, N ranks train like one process on the global batches (exactly when
    N divides the batch sizes). A global batch with fewer than N items is skipped on every rank,
    so all ranks take the same number of steps. With ``world=1`` batches pass through unchanged.

    Example:
        >>> list(RankBatchSampler([[0, 1, 2, 3], [4, 5, 6], [7]], rank=1, world=2))
        [[1, 3], [5]]
    """

    def __init__(self, batch_sampler, rank: int = 0, world: int = 1):
        if not 0 <= rank < world:
            raise ConfigError(f"rank must be in 0..{world - 1}, got {rank}")
        self.batch_sampler = batch_sampler
        self.rank = rank
        self.world = world

    def set_epoch(self, epoch: int) -> None:
        """Pass the epoch on, so every rank shuffles alike and differently each epoch."""
        if hasattr(self.batch_sampler, "set_epoch"):
            self.batch_sampler.set_epoch(epoch)

    def __iter__(self):
        for batch in self.batch_sampler:
            if len(batch) >= self.world:
                yield list(batch[self.rank::self.world])

    def __len__(self) -> int:
        if self.world == 1:
            return len(self.batch_sampler)
        return sum(len(batch) >= self.world for batch in self.batch_sampler)


def active_ranks() -> tuple[int, int]:
    """(this rank, number of ranks) of the joined process group; (0, 1) when there is none (even
    under torchrun when nobody called ``init_distributed``: then each process trains alone)."""
    return (rank(), world_size()) if is_distributed() else (0, 1)


def check_global_batch(batch_size: int, world: int | None = None, at_least: int = 1,
                       why: str = "") -> None:
    """Refuse a global ``batch_size`` that ``world`` processes (default: torchrun's) cannot
    share evenly; each trains on ``batch_size // world`` items a step.

    Args:
        batch_size: the global batch.
        world: the number of processes (default: torchrun's).
        at_least: the fewest items a process may train on a step (``why`` says why).
        why: the reason for ``at_least``, for the message ("batch norm needs two images").

    Raises:
        ConfigError: on ``batch_size``.
    """
    from dlcourse.errors import ConfigError

    world = world_size() if world is None else world
    if batch_size % world:
        raise ConfigError(f"batch_size {batch_size} does not split evenly over the {world} "
                          f"torchrun processes; use a multiple of {world}", "batch_size")
    if world > 1 and batch_size < at_least * world:
        raise ConfigError(f"batch_size {batch_size} gives each of the {world} torchrun "
                          f"processes {batch_size // world} a step, and {why} at least "
                          f"{at_least}; use {at_least * world} or more", "batch_size")


def gather_shards(part, n: int):
    """Reassemble ``n`` rows (of any trailing shape) from every rank's ``part``: rank r holds rows
    r, r + N, r + 2N ... Collective: every rank calls it and gets all ``n`` rows, on the CPU.

    ``all_gather`` needs equal shapes, so each part is padded to ``ceil(n / N)`` rows first.
    """
    import torch
    import torch.distributed as dist

    world = world_size()
    rows = -(-n // world)
    padded = torch.zeros((rows, *part.shape[1:]), dtype=part.dtype)
    padded[: len(part)] = part
    if dist.get_backend() == "nccl":
        padded = padded.cuda()
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded)
    # (rows, N, ...): row i of rank r is item i * N + r
    return torch.stack(parts, dim=1).reshape(rows * world, *part.shape[1:])[:n].cpu()
