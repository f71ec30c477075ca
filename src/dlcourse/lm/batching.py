"""Contiguous-stream batching for language models: batchify into B streams, BPTT windows."""

from __future__ import annotations

import torch


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
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if ids.dim() != 1:
        raise ValueError(f"expected a 1-D stream of ids, got shape {tuple(ids.shape)}")
    steps = ids.numel() // batch_size
    if steps < 2:
        raise ValueError(
            f"{ids.numel()} tokens are too few for {batch_size} streams; "
            "use a smaller batch size or more text"
        )
    return ids[: steps * batch_size].view(batch_size, steps)  # (B, N // B)


class BPTTBatches:
    """Iterable of ``(x, y)`` windows over batchified streams, for the engine's ``fit``.

    ``x`` is ``data[:, i:i+bptt]`` and ``y`` the same window shifted one token ahead, both
    (B, T) with T <= bptt (the last window may be shorter). Windows come in stream order, so
    a model may carry its hidden state across them; ``shuffle=True`` (for stateless models
    only) visits the windows in a random order drawn from torch's global generator.

    Args:
        ids: (N,) word-id stream.
        batch_size: parallel streams B.
        bptt: window length T (truncated back-propagation through time).
        shuffle: random window order each pass.

    Example:
        >>> batches = BPTTBatches(torch.arange(21), batch_size=2, bptt=4)
        >>> len(batches), [tuple(x.shape) for x, _ in batches]
        (3, [(2, 4), (2, 4), (2, 1)])
    """

    def __init__(self, ids: torch.Tensor, batch_size: int, bptt: int, shuffle: bool = False):
        if bptt < 1:
            raise ValueError(f"bptt must be >= 1, got {bptt}")
        self.data = batchify(ids, batch_size)  # (B, S)
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
