"""Run by the distributed tests under torchrun: trains a small model with ``fit`` and saves the
final weights of this rank. Not a test module itself."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from dlcourse.engine import fit, seed_everything
from dlcourse.engine.distributed import (
    distributed_sampler,
    init_distributed,
    rank,
    shutdown_distributed,
    world_size,
    wrap_model,
)


def main(out: Path, global_batch: int, epochs: int, crash_rank: int) -> None:
    device = init_distributed("cpu")
    seed_everything(0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(256, 6, generator=g)
    y = (x @ torch.randn(6, 1, generator=g)).squeeze(1) + 0.1 * torch.randn(256, generator=g)
    dataset = TensorDataset(x, y)
    sampler = distributed_sampler(dataset, shuffle=False)
    loader = DataLoader(dataset, batch_size=global_batch // world_size(), sampler=sampler)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
    ddp = wrap_model(model, device)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.05)

    def step(m, batch):
        if rank() == crash_rank:
            raise RuntimeError(f"rank {rank()} failed on purpose")
        return nn.functional.mse_loss(m(batch[0]).squeeze(1), batch[1])

    if crash_rank == -2:  # a stop after 3 steps whose checkpoint takes rank 0 a second to write
        return stop_with_a_slow_checkpoint(ddp, loader, step, optimizer, epochs, out)
    history = fit(ddp, loader, step, optimizer, epochs, out_dir=out / "run", progress=False)
    torch.save({k: v.clone() for k, v in model.state_dict().items()}, out / f"rank{rank()}.pt")
    torch.save(history, out / f"history{rank()}.pt")
    shutdown_distributed()


def stop_with_a_slow_checkpoint(ddp, loader, step, optimizer, epochs, out: Path) -> None:
    """Each rank writes when it left ``fit``; rank 0 also when its checkpoint was written."""
    import os
    import time

    from dlcourse.engine import fitting
    from dlcourse.errors import TrainingInterrupted

    save = fitting.save_checkpoint

    def slow_save(path, state):
        time.sleep(1.0)
        written = save(path, state)
        (out / "saved.txt").write_text(repr(time.time()))
        return written

    fitting.save_checkpoint = slow_save
    os.environ["DLCOURSE_INTERRUPT_AFTER"] = "3"
    try:
        fit(ddp, loader, step, optimizer, epochs, out_dir=out / "run", progress=False)
    except TrainingInterrupted:
        (out / f"left{rank()}.txt").write_text(repr(time.time()))
    shutdown_distributed(wait=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
