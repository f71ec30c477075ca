"""Contiguous-stream batching for language models: batchify into B streams, BPTT windows."""

from __future__ import annotations

import torch

from dlcourse.errors import InputError


def batchify(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut a 1-D stream of word ids into ``batch_size`` contiguous streams.

    The stream is trimmed to a multiple of ``batch_size`` and row ``b`` holds the ``b``-th
    consecutive chunk, so moving along a row walks through the text in order and a hidden
    state can be carried from one window to the next.

    Args:
        ids: (N,) int64 word ids.
        batch_size: number of parallel streams B.

    Returns:
        (B, N // B) int64 tensor.

    Raises:
        ValueError: ``batch_size < 1`` or fewer than two tokens per stream.

    Example:
        >>> batchify(torch.arange(10), 2)
        tensor([[0, 1, 2, 3, 4],
                [5, 6, 7, 8, 9]])
    """
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    if ids.dim() != 1:
        raise InputError(f"expected a 1-D stream of ids, got shape {tuple(ids.shape)}")
    steps = ids.numel() // batch_size
    if steps < 2:
        raise InputError(
            f"{ids.numel()} tokens are too few for {batch_size} streams; "
            "use a smaller batch size or more text"
        )
    return ids[: steps * batch_size].view(batch_size, steps)  # (B, N // B)


class BPTTBatches:
    """Iterable of ``(x, y)`` windows over batchified streams, for the engine's ``fit``.

    ``x`` is ``data[:, i:i+bptt]`` and ``y`` the same window shifted one token ahead, both
    (B, T) with T <= bptt (the last window may be shorter). Windows come in stream order, so
    a model may carry its hidden state across them; ``shuffle=True`` (for stateless models
    only) visits the windows in a random order drawn from torch's global generator when a pass
    starts, so the engine's ``fit``, which restores the RNG state an epoch started from,
    resumes an interrupted epoch in the same order. The windows are views of ``ids`` on its
    device: a stream moved to the GPU once is never copied from the host again.

    Under torchrun each process reads its share of the same B streams: rank ``r`` of
    ``world_size`` keeps rows ``r::world_size`` of the batchified data. Every rank sees the same
    window positions in the same order, so N ranks together read exactly the windows of one
    process with batch B, and DDP's gradient average equals that process's gradient when B is
    a multiple of N.

    Args:
        ids: (N,) word-id stream.
        batch_size: parallel streams B of the whole run (all ranks together).
        bptt: window length T (truncated back-propagation through time).
        shuffle: random window order each pass (the same on every rank when they share a seed).
        rank: this process's rank (0 for one process).
        world_size: number of processes sharing the streams (1 for one process).

    Example:
        >>> batches = BPTTBatches(torch.arange(21), batch_size=2, bptt=4)
        >>> len(batches), [tuple(x.shape) for x, _ in batches]
        (3, [(2, 4), (2, 4), (2, 1)])
        >>> next(iter(BPTTBatches(torch.arange(21), 4, bptt=2, rank=1, world_size=2)))[0]
        tensor([[ 5,  6],
                [15, 16]])
    """

    def __init__(
        self,
        ids: torch.Tensor,
        batch_size: int,
        bptt: int,
        shuffle: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ):
        if bptt < 1:
            raise InputError(f"bptt must be >= 1, got {bptt}")
        if not 0 <= rank < world_size:
            raise InputError(f"rank must be in [0, world_size), got {rank} of {world_size}")
        self.data = batchify(ids, batch_size)[rank::world_size]  # (B / world_size, S)
        self.bptt = bptt
        self.shuffle = shuffle
        self.starts = list(range(0, self.data.size(1) - 1, bptt))

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def num_tokens(self) -> int:
        """Number of predicted tokens in one pass."""
        return self.data.size(0) * (self.data.size(1) - 1)

    def __iter__(self):
        order = self.starts
        if self.shuffle:
            order = [self.starts[i] for i in torch.randperm(len(self.starts)).tolist()]
        for i in order:
            t = min(self.bptt, self.data.size(1) - 1 - i)
            yield self.data[:, i : i + t], self.data[:, i + 1 : i + 1 + t]  # (B, T), (B, T)
